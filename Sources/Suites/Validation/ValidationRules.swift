/// The rules of the validation suite's model, the same on every stack (each
/// stack encodes them in its own mechanism: compiled field specs, Codable
/// with declarative rules, dictionary schemas).
///
///     user        object, required fields below; unknown fields are ignored
///     name        string, 1…100 characters after trimming; trimmed
///     email       string, local@domain.tld (no spaces, one @, a dot after it); lowercased
///     age         integer, 0…150
///     username    string matching ^[a-z0-9_]{3,20}$
///     nickname    optional string (null when absent), at most 50 characters
///     newsletter  optional boolean, default false
///     address     object: street 1…200, city 1…100, zip ^[0-9]{5}$, country ^[A-Z]{2}$
///     items       array of 1…1000 objects:
///       sku       string matching ^[A-Z]{3}-[0-9]{3}$
///       quantity  integer, 1…1000
///       price     number, 0.01…100000
///       tags      optional array of at most 10 strings of 1…20 characters, default []
///
/// Valid → 201 `{"user": <normalized>, "item_count": n, "total": Σ quantity × price}`;
/// invalid → 422 `{"errors": [{"path": "items[3].quantity", "message": "…"}…]}`
/// listing every failing field; malformed JSON → 400; a body over 1 MiB → 413.
public enum ValidationRules {
    public static let nameLength = 1...100
    public static let ageRange: ClosedRange<Int64> = 0...150
    public static let usernamePattern = "^[a-z0-9_]{3,20}$"
    public static let nicknameMax = 50
    public static let streetLength = 1...200
    public static let cityLength = 1...100
    public static let zipPattern = "^[0-9]{5}$"
    public static let countryPattern = "^[A-Z]{2}$"
    public static let emailPattern = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
    public static let itemCount = 1...1000
    public static let skuPattern = "^[A-Z]{3}-[0-9]{3}$"
    public static let quantityRange: ClosedRange<Int64> = 1...1000
    public static let priceRange = 0.01...100_000.0
    public static let tagsMax = 10
    public static let tagLength = 1...20
    public static let maxBodyBytes = 1 << 20

    /// The order total, rounded to cents.
    public static func total(_ items: [(quantity: Int64, price: Double)]) -> Double {
        (items.reduce(0) { $0 + Double($1.quantity) * $1.price } * 100).rounded() / 100
    }

    /// Whitespace trimmed from both ends (space, tab, CR, LF).
    public static func trim(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
