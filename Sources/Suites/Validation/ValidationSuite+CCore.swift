import CCoreStack
import WireFormat

/// The validation suite on ccore: the model as compiled field specs.
extension ValidationSuite: CCoreSuite {
    static func ccoreSchema() throws -> CCoreSchema {
        let r = ValidationRules.self
        let address = CCoreFieldSpec.object([
            CCoreProperty("street", .string(length: r.streetLength)),
            CCoreProperty("city", .string(length: r.cityLength)),
            CCoreProperty("zip", .string(pattern: try CCorePattern(r.zipPattern))),
            CCoreProperty("country", .string(pattern: try CCorePattern(r.countryPattern))),
        ])
        let item = CCoreFieldSpec.object([
            CCoreProperty("sku", .string(pattern: try CCorePattern(r.skuPattern))),
            CCoreProperty("quantity", .integer(r.quantityRange)),
            CCoreProperty("price", .number(r.priceRange)),
            CCoreProperty(
                "tags", .array(of: .string(length: r.tagLength), count: 0...r.tagsMax), required: false,
                default: .array([])),
        ])
        return CCoreSchema(
            .object([
                CCoreProperty("name", .string(length: r.nameLength, trim: true)),
                CCoreProperty("email", .string(pattern: try CCorePattern(r.emailPattern), trim: true, lowercase: true)),
                CCoreProperty("age", .integer(r.ageRange)),
                CCoreProperty("username", .string(pattern: try CCorePattern(r.usernamePattern))),
                CCoreProperty("nickname", .string(length: 0...r.nicknameMax), required: false),
                CCoreProperty("newsletter", .boolean, required: false, default: .bool(false)),
                CCoreProperty("address", address),
                CCoreProperty("items", .array(of: item, count: r.itemCount)),
            ]))
    }

    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        let schema = try ccoreSchema()
        try app.post("/validate/user") { ex in
            guard let (document, normalized, failures) = ex.validateBody(schema) else {
                throw CCoreError(400, "malformed JSON")
            }
            if !failures.isEmpty {
                ex.json(status: 422) { w in
                    w.beginObject()
                    w.key("errors"); w.beginArray()
                    for f in failures {
                        w.beginObject(); w.key("path"); w.string(f.path); w.key("message"); w.string(f.message);
                        w.endObject()
                    }
                    w.endArray()
                    w.endObject()
                }
                return
            }
            // The total is the shared business logic; the items are valid here.
            let items = (document["items"]?.arrayValue ?? []).map {
                ($0["quantity"]?.intValue ?? 0, $0["price"]?.doubleValue ?? 0)
            }
            ex.json(status: 201) { w in
                w.beginObject()
                w.key("user"); w.raw(normalized)
                w.key("item_count"); w.int(items.count)
                w.key("total"); w.number(ValidationRules.total(items))
                w.endObject()
            }
        }
    }
}
