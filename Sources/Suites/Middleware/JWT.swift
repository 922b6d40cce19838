#if canImport(Glibc)
    import Glibc
#endif

/// JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515): the checks every
/// stack's authentication middleware makes, written once.
public enum JWT {
    public struct Claims: Sendable, Equatable {
        public var subject: String
        public var expires: Int
    }

    public enum Rejection: String, Error, Sendable {
        case missing = "missing bearer token"
        case malformed = "malformed token"
        case algorithm = "unsupported algorithm"
        case signature = "bad signature"
        case expired = "token expired"
    }

    /// A token for `subject`, valid until `expires` (seconds since the epoch).
    public static func sign(subject: String, expires: Int, secret: [UInt8]) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"sub":"\#(subject)","exp":\#(expires)}"#.utf8))
        let signature = Base64URL.encode(HMACSHA256.mac(key: secret, message: Array("\(header).\(payload)".utf8)))
        return "\(header).\(payload).\(signature)"
    }

    /// Checks an `Authorization` header value: `Bearer <token>`, HS256 only
    /// (a token naming `none` or another algorithm is refused), a valid
    /// signature, and an `exp` in the future.
    public static func verify(authorization: String?, secret: [UInt8], now: Int = Int(time(nil))) -> Result<
        Claims, Rejection
    > {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return .failure(.missing) }
        let token = Array(authorization.utf8.dropFirst(7))
        let parts = token.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
            let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { return .failure(.malformed) }
        guard let header = FlatJSON.parse(headerBytes), let payload = FlatJSON.parse(payloadBytes) else {
            return .failure(.malformed)
        }
        guard header["alg"] == .string("HS256") else { return .failure(.algorithm) }
        let signed = token[..<(parts[0].count + 1 + parts[1].count)]
        guard HMACSHA256.equal(HMACSHA256.mac(key: secret, message: signed), signature) else {
            return .failure(.signature)
        }
        guard case .string(let subject)? = payload["sub"], case .number(let exp)? = payload["exp"] else {
            return .failure(.malformed)
        }
        guard Int(exp) > now else { return .failure(.expired) }
        return .success(Claims(subject: subject, expires: Int(exp)))
    }
}

/// The one-level JSON objects of JWT headers and payloads: strings, numbers,
/// booleans and null as values; anything nested is refused.
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case other
    }

    static func parse(_ bytes: [UInt8]) -> [String: Value]? {
        var i = 0
        func skip() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\"") { return String(validating: out, as: UTF8.self) }
                if b == UInt8(ascii: "\\") {
                    guard i < bytes.count else { return nil }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "t"): out.append(9)
                    default: return nil
                    }
                } else if b < 0x20 {
                    return nil
                } else {
                    out.append(b)
                }
            }
            return nil
        }
        skip()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var object: [String: Value] = [:]
        skip()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; skip(); return i == bytes.count ? object : nil }
        while true {
            skip()
            guard let key = string() else { return nil }
            skip()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skip()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "\"") {
                guard let s = string() else { return nil }
                object[key] = .string(s)
            } else {
                let start = i
                while i < bytes.count,
                    ![UInt8(ascii: ","), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[i])
                { i += 1 }
                let text = String(decoding: bytes[start..<i], as: UTF8.self)
                if let n = Double(text), text.first != "+", text.first != "." {
                    object[key] = .number(n)
                } else if text == "true" || text == "false" || text == "null" {
                    object[key] = .other
                } else {
                    return nil
                }
            }
            skip()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "}") else { return nil }
            i += 1
            skip()
            return i == bytes.count ? object : nil
        }
    }
}
