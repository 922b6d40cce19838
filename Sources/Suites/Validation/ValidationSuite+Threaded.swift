import ThreadedStack
import WireFormat

/// The validation suite on the threaded stack: marshmallow-style schemas of
/// named fields and validators over the parsed body.
extension ValidationSuite: ThreadedSuite {
    static func threadedSchema() -> Schema {
        let r = ValidationRules.self
        let address = Schema([
            .init("street", .string, validate: [.length(r.streetLength)]),
            .init("city", .string, validate: [.length(r.cityLength)]),
            .init("zip", .string, validate: [.regexp(r.zipPattern)]),
            .init("country", .string, validate: [.regexp(r.countryPattern)]),
        ])
        let item = Schema([
            .init("sku", .string, validate: [.regexp(r.skuPattern)]),
            .init(
                "quantity", .integer,
                validate: [.range(Double(r.quantityRange.lowerBound)...Double(r.quantityRange.upperBound))]),
            .init("price", .number, validate: [.range(r.priceRange)]),
            .init(
                "tags", .list(.string, each: [.length(r.tagLength)]), required: false, default: .array([]),
                validate: [.length(0...r.tagsMax)]),
        ])
        return Schema([
            .init("name", .string, validate: [.length(r.nameLength)], transform: ValidationRules.trim),
            .init(
                "email", .string, validate: [.regexp(r.emailPattern)],
                transform: { ValidationRules.trim($0).lowercased() }),
            .init("age", .integer, validate: [.range(Double(r.ageRange.lowerBound)...Double(r.ageRange.upperBound))]),
            .init("username", .string, validate: [.regexp(r.usernamePattern)]),
            .init("nickname", .string, required: false, validate: [.length(0...r.nicknameMax)]),
            .init("newsletter", .boolean, required: false, default: .bool(false)),
            .init("address", .nested(address)),
            .init("items", .list(.nested(item)), validate: [.length(r.itemCount)]),
        ])
    }

    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        let schema = threadedSchema()
        try app.route("/validate/user", methods: ["POST"]) { request in
            guard let data = JSONValue.parse(request.body) else { throw HTTPError(400, "malformed JSON") }
            switch schema.load(data) {
            case .failure(let errors):
                return .json(
                    [
                        "errors": .array(
                            errors.entries.map { ["path": .string($0.path), "message": .string($0.message)] })
                    ], status: 422)
            case .success(let user):
                let items = (data["items"]?.arrayValue ?? []).map {
                    ($0["quantity"]?.intValue ?? 0, $0["price"]?.doubleValue ?? 0)
                }
                return .json(
                    ["user": user, "item_count": .int(items.count), "total": .number(ValidationRules.total(items))],
                    status: 201)
            }
        }
    }
}
