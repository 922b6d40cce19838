import AsyncStack
import FoundationEssentials

/// The validation suite on the async stack: Codable models with lenient
/// fields, then declarative rules per field, pydantic-style.
extension ValidationSuite: AsyncStackSuite {
    enum Rules {
        static let r = ValidationRules.self
        static let name = FieldRules(length: r.nameLength)
        static let email = FieldRules(pattern: r.emailPattern)
        static let age = FieldRules(range: Double(r.ageRange.lowerBound)...Double(r.ageRange.upperBound))
        static let username = FieldRules(pattern: r.usernamePattern)
        static let nickname = FieldRules(length: 0...r.nicknameMax)
        static let street = FieldRules(length: r.streetLength)
        static let city = FieldRules(length: r.cityLength)
        static let zip = FieldRules(pattern: r.zipPattern)
        static let country = FieldRules(pattern: r.countryPattern)
        static let sku = FieldRules(pattern: r.skuPattern)
        static let quantity = FieldRules(range: Double(r.quantityRange.lowerBound)...Double(r.quantityRange.upperBound))
        static let price = FieldRules(range: r.priceRange)
        static let tag = FieldRules(length: r.tagLength)
        static let any = FieldRules()
    }

    struct AddressIn: Decodable, Sendable {
        let street, city, zip, country: Lenient<String>
        enum CodingKeys: String, CodingKey { case street, city, zip, country }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (street, city, zip, country) = (c.lenient(.street), c.lenient(.city), c.lenient(.zip), c.lenient(.country))
        }
    }

    struct ItemIn: Decodable, Sendable {
        let sku: Lenient<String>
        let quantity: Lenient<Int64>
        let price: Lenient<Double>
        let tags: Lenient<[Lenient<String>]>
        enum CodingKeys: String, CodingKey { case sku, quantity, price, tags }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (sku, quantity, price, tags) = (c.lenient(.sku), c.lenient(.quantity), c.lenient(.price), c.lenient(.tags))
        }
    }

    struct UserIn: Decodable, Sendable {
        let name, email, username, nickname: Lenient<String>
        let age: Lenient<Int64>
        let newsletter: Lenient<Bool>
        let address: Lenient<AddressIn>
        let items: Lenient<[Lenient<ItemIn>]>
        enum CodingKeys: String, CodingKey { case name, email, age, username, nickname, newsletter, address, items }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = c.lenient(.name); email = c.lenient(.email); age = c.lenient(.age); username = c.lenient(.username)
            nickname = c.lenient(.nickname); newsletter = c.lenient(.newsletter); address = c.lenient(.address);
            items = c.lenient(.items)
        }
    }

    struct Address: Encodable { let street, city, zip, country: String }
    struct Item: Encodable { let sku: String; let quantity: Int64; let price: Double; let tags: [String] }
    struct ValidatedUser: Encodable {
        let name, email: String
        let age: Int64
        let username: String
        let nickname: String?
        let newsletter: Bool
        let address: Address
        let items: [Item]
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(email, forKey: .email); try c.encode(age, forKey: .age)
            try c.encode(username, forKey: .username); try c.encode(nickname, forKey: .nickname)  // null when absent
            try c.encode(newsletter, forKey: .newsletter); try c.encode(address, forKey: .address);
            try c.encode(items, forKey: .items)
        }
        enum CodingKeys: String, CodingKey { case name, email, age, username, nickname, newsletter, address, items }
    }
    struct Created: Encodable { let user: ValidatedUser; let item_count: Int; let total: Double }
    struct Failed: Encodable { let errors: [ValidationErrors.Entry] }

    /// The model's validation: every field's rules, every failure kept.
    static func validate(_ input: UserIn) -> Result<ValidatedUser, ValidationErrors> {
        var e = ValidationErrors()
        let name = Rules.any.check(input.name, "name", &e).map(ValidationRules.trim)
        if let n = name, !Rules.name.length!.contains(n.count) {
            e.add("name", "length must be within \(Rules.name.length!)")
        }
        let email = Rules.email.check(input.email.map(ValidationRules.trim), "email", &e)?.lowercased()
        let age = Rules.age.check(input.age, "age", &e)
        let username = Rules.username.check(input.username, "username", &e)
        let nickname = Rules.nickname.check(input.nickname, "nickname", &e, required: false)
        let newsletter = Rules.any.check(input.newsletter, "newsletter", &e, required: false) ?? false
        var address: Address?
        if let a = Rules.any.check(input.address, "address", &e) {
            let street = Rules.street.check(a.street, "address.street", &e)
            let city = Rules.city.check(a.city, "address.city", &e)
            let zip = Rules.zip.check(a.zip, "address.zip", &e)
            let country = Rules.country.check(a.country, "address.country", &e)
            if let street, let city, let zip, let country {
                address = Address(street: street, city: city, zip: zip, country: country)
            }
        }
        var items: [Item] = []
        if let list = Rules.any.check(input.items, "items", &e) {
            if !ValidationRules.itemCount.contains(list.count) {
                e.add("items", "must have \(ValidationRules.itemCount) items")
            }
            for (k, entry) in list.enumerated() {
                guard let item = Rules.any.check(entry, "items[\(k)]", &e) else { continue }
                let sku = Rules.sku.check(item.sku, "items[\(k)].sku", &e)
                let quantity = Rules.quantity.check(item.quantity, "items[\(k)].quantity", &e)
                let price = Rules.price.check(item.price, "items[\(k)].price", &e)
                var tags: [String] = []
                if let given = Rules.any.check(item.tags, "items[\(k)].tags", &e, required: false) {
                    if given.count > ValidationRules.tagsMax {
                        e.add("items[\(k)].tags", "at most \(ValidationRules.tagsMax) tags")
                    }
                    for (t, tag) in given.enumerated() {
                        if let tag = Rules.tag.check(tag, "items[\(k)].tags[\(t)]", &e) { tags.append(tag) }
                    }
                }
                if let sku, let quantity, let price {
                    items.append(Item(sku: sku, quantity: quantity, price: price, tags: tags))
                }
            }
        }
        guard e.isEmpty, let name, let email, let age, let username, let address else { return .failure(e) }
        return .success(
            ValidatedUser(
                name: name, email: email, age: age, username: username, nickname: nickname,
                newsletter: newsletter, address: address, items: items))
    }

    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        try app.post("/validate/user") { request in
            let input: UserIn
            do {
                input = try BodyDecoding.decode(UserIn.self, from: request)
            } catch let error as AsyncHTTPError where error.status == .unprocessableEntity {
                // Not an object at all: the model itself is the failing field.
                return try .json(
                    Failed(errors: [ValidationErrors.Entry(path: "body", message: "must be an object")]),
                    status: .unprocessableEntity)
            }
            switch validate(input) {
            case .success(let user):
                let total = ValidationRules.total(user.items.map { ($0.quantity, $0.price) })
                return try .json(Created(user: user, item_count: user.items.count, total: total), status: .created)
            case .failure(let errors):
                return try .json(Failed(errors: errors.entries), status: .unprocessableEntity)
            }
        }
    }
}

extension Lenient {
    func map<T>(_ transform: (Value) -> T) -> Lenient<T> {
        switch self {
        case .missing: return .missing
        case .null: return .null
        case .wrongType: return .wrongType
        case .value(let v): return .value(transform(v))
        }
    }
}
