import SuiteKit

/// The validation suite: `POST /validate/user` of a nested model (see
/// `ValidationRules`), small and large, valid and invalid. The verifier checks
/// the normalized answer and, for invalid payloads, that the error document
/// lists exactly the failing fields by path.
public enum ValidationSuite: SuiteDefinition {
    static let first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken"]
    static let last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"]

    /// A valid user with `count` items, as a JSON text and the values the answer must echo.
    struct Payload {
        var json: String
        var name: String
        var email: String
        var totals: [(quantity: Int64, price: Double)]
        var newsletter: Bool?
        var nickname: String?
    }

    static func validPayload(items count: Int, random: inout SeededRandom) -> Payload {
        let f = first[Int.random(in: 0..<first.count, using: &random)]
        let l = last[Int.random(in: 0..<last.count, using: &random)]
        let n = Int.random(in: 1...9999, using: &random)
        var items: [String] = []
        var totals: [(Int64, Double)] = []
        for i in 0..<count {
            let quantity = Int64.random(in: 1...20, using: &random)
            let cents = Int.random(in: 1...99_999, using: &random)
            let price = Double(cents) / 100
            totals.append((quantity, price))
            let sku = "\(["ABC", "XYZ", "QRS", "KLM"][i % 4])-\(String(100 + (i * 7 + n) % 900))"
            let tags = i % 3 == 0 ? #", "tags": ["sale", "\#(l.lowercased())"]"# : ""
            items.append(#"{"sku": "\#(sku)", "quantity": \#(quantity), "price": \#(price)\#(tags)}"#)
        }
        let newsletter: Bool? = n % 2 == 0 ? true : nil
        let nickname: String? = n % 3 == 0 ? "\(f.lowercased())\(n % 100)" : nil
        var fields = [
            #""name": "  \#(f) \#(l)  ""#,
            #""email": "\#(f).\#(l)\#(n)@Example.COM""#,
            #""age": \#(18 + n % 70)"#,
            #""username": "\#(f.lowercased())_\#(n)""#,
            #""address": {"street": "\#(n) Main Street", "city": "London", "zip": "\#(String(10000 + n))", "country": "GB"}"#,
            #""items": [\#(items.joined(separator: ", "))]"#,
        ]
        if let newsletter { fields.append(#""newsletter": \#(newsletter)"#) }
        if let nickname { fields.append(#""nickname": "\#(nickname)""#) }
        fields.append(#""extra_field": "ignored""#)
        return Payload(
            json: "{" + fields.joined(separator: ", ") + "}", name: "\(f) \(l)",
            email: "\(f).\(l)\(n)@example.com".lowercased(), totals: totals, newsletter: newsletter, nickname: nickname)
    }

    static func post(_ body: String, expectation: Expectation) -> RequestSpec {
        RequestSpec(
            method: "POST", target: "/validate/user", headers: [("Content-Type", "application/json")],
            body: Array(body.utf8), expectation: expectation)
    }

    static func valid(items count: Int, random: inout SeededRandom) -> RequestSpec {
        let p = validPayload(items: count, random: &random)
        let total = ValidationRules.total(p.totals)
        return post(
            p.json,
            expectation: Expectation(
                status: 201, mediaType: "application/json",
                body: .json { doc in
                    guard let user = doc["user"] else { return "no \"user\" in the answer" }
                    guard user["name"]?.stringValue == p.name else {
                        return "name should be trimmed to \"\(p.name)\", got \(user["name"]?.description ?? "none")"
                    }
                    guard user["email"]?.stringValue == p.email else {
                        return
                            "email should be lowercased to \"\(p.email)\", got \(user["email"]?.description ?? "none")"
                    }
                    guard user["newsletter"]?.boolValue == (p.newsletter ?? false) else {
                        return
                            "newsletter should be \(p.newsletter ?? false) (default false), got \(user["newsletter"]?.description ?? "none")"
                    }
                    if let nickname = p.nickname {
                        guard user["nickname"]?.stringValue == nickname else { return "nickname should be \(nickname)" }
                    } else if user["nickname"] != .null {
                        return "an absent nickname should be null, got \(user["nickname"]?.description ?? "no key")"
                    }
                    guard user["extra_field"] == nil else { return "unknown fields must not be echoed" }
                    guard user["address"]?["country"]?.stringValue == "GB" else {
                        return "address missing or wrong in the answer"
                    }
                    guard let items = user["items"]?.arrayValue, items.count == p.totals.count else {
                        return "expected \(p.totals.count) items in the answer"
                    }
                    for item in items where item["tags"]?.arrayValue == nil {
                        return "items without tags should get tags [] (the default), got \(item)"
                    }
                    guard doc["item_count"]?.intValue == Int64(p.totals.count) else {
                        return "item_count should be \(p.totals.count)"
                    }
                    guard let answered = doc["total"]?.doubleValue, abs(answered - total) < 0.005 else {
                        return "total should be \(total), got \(doc["total"]?.description ?? "none")"
                    }
                    return nil
                }))
    }

    /// A valid user but for one field, and the path of that field.
    static let loneFailures: [(String, String, String)] = {
        let address = #""address": {"street": "1 Road", "city": "X", "zip": "12345", "country": "GB"}"#
        let user = #""name": "Ok", "email": "a@b.co", "age": 30, "username": "ok_name", "# + address
        let tags = (1...11).map { "\"t\($0)\"" }.joined(separator: ", ")
        return [
            (
                "quantity 1.5 (not an integer)",
                "{\(user), \"items\": [{\"sku\": \"ABC-123\", \"quantity\": 1.5, \"price\": 2}]}",
                "items[0].quantity"
            ),
            (
                "newsletter \"yes\" (not a boolean)",
                "{\(user), \"newsletter\": \"yes\", \"items\": [{\"sku\": \"ABC-123\", \"quantity\": 1, \"price\": 2}]}",
                "newsletter"
            ),
            (
                "11 tags (at most 10)",
                "{\(user), \"items\": [{\"sku\": \"ABC-123\", \"quantity\": 1, \"price\": 2, \"tags\": [\(tags)]}]}",
                "items[0].tags"
            ),
        ]
    }()

    /// An invalid user and exactly the paths its errors must name.
    static func invalid(variant: Int) -> RequestSpec {
        let cases: [(String, Set<String>)] = [
            (
                #"{"name": "", "email": "not-an-email", "age": 151, "username": "A!", "address": {"street": "1 Road", "city": "X", "zip": "12ab5", "country": "gb"}, "items": [{"sku": "ABC-123", "quantity": 0, "price": 1.5}, {"sku": "bad", "quantity": 2, "price": 0}]}"#,
                [
                    "name", "email", "age", "username", "address.zip", "address.country", "items[0].quantity",
                    "items[1].sku", "items[1].price",
                ]
            ),
            (
                #"{"email": "a@b.co", "age": "forty", "username": "ok_name", "address": {"street": "1 Road", "city": "X", "zip": "12345", "country": "GB"}, "items": []}"#,
                ["name", "age", "items"]
            ),
            (
                #"{"name": "Ok", "email": "a@b.co", "age": 30, "username": "ok_name", "nickname": 7, "newsletter": "yes", "address": {"street": "", "zip": "12345", "country": "GB"}, "items": [{"sku": "ABC-123", "quantity": 1.5, "price": 2, "tags": ["", "x", "this tag is far too long"]}]}"#,
                [
                    "nickname", "newsletter", "address.street", "address.city", "items[0].quantity", "items[0].tags[0]",
                    "items[0].tags[2]",
                ]
            ),
            (
                #"{"name": "Ok", "email": "a@b.co", "age": 30, "username": "ok_name", "address": "nowhere", "items": {"sku": "ABC-123"}}"#,
                ["address", "items"]
            ),
            (#"[1, 2, 3]"#, ["body"]),
        ]
        let (body, expected) = cases[variant % cases.count]
        return invalidDocument(body, paths: expected)
    }

    /// A POST of `body` that must be refused with 422, the errors naming exactly `expected`.
    static func invalidDocument(_ body: String, paths expected: Set<String>) -> RequestSpec {
        var expectation = Expectation(status: 422, mediaType: "application/json", body: .json(errorDocument))
        expectation.aspects = [
            ExpectationAspect(errorPaths) { response in
                let seen = Set(paths(response))
                guard seen == expected else {
                    let missing = expected.subtracting(seen).sorted()
                    let extra = seen.subtracting(expected).sorted()
                    return "error paths differ: missing \(missing), unexpected \(extra)"
                }
                return nil
            }
        ]
        return post(body, expectation: expectation)
    }

    /// The waivable part of an invalid payload's check: the error document
    /// names exactly the failing fields, by path.
    static let errorPaths = "error-paths"

    /// `{"errors":[{"path":…,"message":…}, …]}` with at least one error: what
    /// every 422 must be, waiver or not.
    @Sendable static func errorDocument(_ doc: JSONValue) -> String? {
        guard let errors = doc["errors"]?.arrayValue, !errors.isEmpty else {
            return "expected {\"errors\": [{\"path\":…,\"message\":…}, …]}, got \(doc)"
        }
        for error in errors {
            guard error["path"]?.stringValue != nil, let message = error["message"]?.stringValue, !message.isEmpty
            else {
                return "every error needs a path and a message, got \(error)"
            }
        }
        return nil
    }

    static func paths(_ response: HTTPResponse) -> [String] {
        JSONValue.parse(response.body)?["errors"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
    }

    public static let contract = SuiteContract(
        name: "validation",
        summary: "POST of a nested model, small and large (1000 items), valid and invalid",
        routes: [
            RouteDescription(
                method: "POST", path: "/validate/user",
                answer:
                    "201 {\"user\":<normalized>,\"item_count\":n,\"total\":Σ quantity×price}; 422 {\"errors\":[{\"path\":\"items[3].quantity\",\"message\":…}]} listing every failing field; malformed JSON 400; body over 1 MiB 413"
            )
        ],
        cases: [
            LoadCase(name: "valid-small", summary: "POST a valid user with 1 item") { random in
                valid(items: 1, random: &random)
            },
            LoadCase(name: "valid-large", summary: "POST a valid user with 1000 items") { random in
                valid(items: 1000, random: &random)
            },
            LoadCase(name: "invalid", summary: "POST an invalid user (2 to 9 failing fields)") { random in
                invalid(variant: Int.random(in: 0..<5, using: &random))
            },
        ],
        checks: {
            var random = SeededRandom(seed: 7)
            var checks = [
                NamedRequest("valid, 1 item", valid(items: 1, random: &random), case: "valid-small"),
                NamedRequest("valid, 3 items", valid(items: 3, random: &random), case: "valid-small"),
                NamedRequest("valid, 1000 items", valid(items: 1000, random: &random), case: "valid-large"),
            ]
            checks += (0..<5).map { NamedRequest("invalid #\($0 + 1)", invalid(variant: $0), case: "invalid") }
            // One failing field each: a validator that lets it through answers 201, whatever it reports.
            checks += loneFailures.map { name, body, path in
                NamedRequest("invalid: only \(name)", invalidDocument(body, paths: [path]), case: "invalid")
            }
            checks.append(
                NamedRequest(
                    "1001 items",
                    {
                        var r = SeededRandom(seed: 9)
                        var spec = valid(items: 1001, random: &r)
                        spec.expectation = Expectation(
                            status: 422, mediaType: "application/json", body: .json(errorDocument))
                        spec.expectation.aspects = [
                            ExpectationAspect(errorPaths) { response in
                                paths(response) == ["items"]
                                    ? nil : "1001 items should fail once, at items; got \(paths(response))"
                            }
                        ]
                        return spec
                    }(), workloads: ["valid-large", "invalid"]))
            checks.append(
                NamedRequest(
                    "malformed JSON → 400",
                    post(#"{"name": "Ada", "#, expectation: Expectation(statuses: [400], recommendedHeaders: []))))
            checks.append(
                NamedRequest(
                    "a body over 1 MiB → 413",
                    post(
                        "{\"name\": \"" + String(repeating: "x", count: ValidationRules.maxBodyBytes + 10) + "\"}",
                        expectation: Expectation(statuses: [413], recommendedHeaders: []))))
            return checks
        }(),
        aspects: [
            errorPaths: "a 422 answer lists every failing field by path (the 422 and an error document with at least "
                + "one {path, message} are required whatever is waived)"
        ]
    )
}
