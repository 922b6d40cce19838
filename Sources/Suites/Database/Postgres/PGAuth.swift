import COpenSSL

/// A `postgres://user:password@host:port/database` address (`postgresql://`
/// too). Query parameters are ignored except `sslmode`, which must not ask
/// for TLS: catbench talks to PostgreSQL on loopback in the clear.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: UInt16
    public var database: String

    public init(user: String, password: String? = nil, host: String = "127.0.0.1", port: UInt16, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        var rest = Substring(text)
        guard let scheme = rest.firstRange(of: "://"), ["postgres", "postgresql"].contains(rest[..<scheme.lowerBound])
        else { throw Invalid(description: "\(text) is not a postgres:// address") }
        rest = rest[scheme.upperBound...]
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        for pair in query.split(separator: "&") where pair.hasPrefix("sslmode=") {
            let mode = pair.dropFirst("sslmode=".count)
            guard ["disable", "allow", "prefer"].contains(mode) else {
                throw Invalid(
                    description: "sslmode=\(mode): catbench connects to PostgreSQL without TLS (use sslmode=disable)")
            }
        }
        var user = "postgres"
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = Self.percentDecoded(info[..<colon])
                password = Self.percentDecoded(info[info.index(after: colon)...])
            } else {
                user = Self.percentDecoded(info)
            }
        }
        var database = user
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            if !name.isEmpty { database = Self.percentDecoded(name) }
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port: UInt16 = 5432
        if let colon = rest.lastIndex(of: ":") {
            guard let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else {
                throw Invalid(description: "\(text): the port is not a number 1…65535")
            }
            port = p
            host = String(rest[..<colon])
        }
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        self.init(user: user, password: password, host: host, port: port, database: database)
    }

    /// The address as a driver takes it (`postgresql://…`), password included.
    public var text: String {
        let credentials = password.map { "\(user):\($0)" } ?? user
        return "postgresql://\(credentials)@\(host):\(port)/\(database)"
    }

    /// The address without its password, for logs and results.
    public var redacted: String {
        "postgresql://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    public var description: String { redacted }

    private static func percentDecoded(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        var i = s.utf8.startIndex
        let utf8 = s.utf8
        while i < utf8.endIndex {
            if utf8[i] == UInt8(ascii: "%"),
                let h = utf8.index(i, offsetBy: 2, limitedBy: utf8.index(before: utf8.endIndex)),
                let n = UInt8(String(decoding: utf8[utf8.index(after: i)...h], as: UTF8.self), radix: 16)
            {
                bytes.append(n)
                i = utf8.index(after: h)
            } else {
                bytes.append(utf8[i])
                i = utf8.index(after: i)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Digests and encodings through OpenSSL, which the binary links anyway.
enum Digest {
    static func md5Hex(_ bytes: [UInt8]) -> String {
        hex(digest(bytes, EVP_md5()))
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { digest(bytes, EVP_sha256()) }

    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        _ = HMAC(EVP_sha256(), key, Int32(key.count), message, message.count, &out, &length)
        return out
    }

    static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        password.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { chars in
                _ = PKCS5_PBKDF2_HMAC(
                    chars.baseAddress, Int32(p.count), salt, Int32(salt.count), Int32(iterations), EVP_sha256(), 32,
                    &out)
            }
        }
        return out
    }

    static func base64(_ bytes: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: (bytes.count + 2) / 3 * 4 + 1)
        let n = EVP_EncodeBlock(&out, bytes, Int32(bytes.count))
        return String(decoding: out.prefix(Int(n)), as: UTF8.self)
    }

    static func unbase64(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: input.count / 4 * 3 + 1)
        let n = EVP_DecodeBlock(&out, input, Int32(input.count))
        guard n >= 0 else { return nil }
        let padding = input.reversed().prefix(2).filter { $0 == UInt8(ascii: "=") }.count
        return Array(out.prefix(Int(n) - padding))
    }

    static func random(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        _ = RAND_bytes(&out, Int32(count))
        return out
    }

    private static func digest(_ bytes: [UInt8], _ type: OpaquePointer?) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        _ = EVP_Digest(bytes, bytes.count, &out, &length, type, nil)
        return Array(out.prefix(Int(length)))
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel
/// binding, the user name left to the startup message.
final class SCRAMClient {
    private let password: String
    private let nonce: String
    private var authMessage = ""
    private var saltedPassword: [UInt8] = []

    init(password: String) {
        self.password = password
        nonce = Digest.base64(Digest.random(18))
    }

    var clientFirstBare: String { "n=,r=\(nonce)" }
    var clientFirst: String { "n,," + clientFirstBare }

    func clientFinal(serverFirst: String) throws -> String {
        var fields: [Character: String] = [:]
        for part in serverFirst.split(separator: ",") where part.count >= 2 {
            fields[part.first!] = String(part.dropFirst(2))
        }
        guard let combined = fields["r"], combined.hasPrefix(nonce), let saltText = fields["s"],
            let salt = Digest.unbase64(saltText), let iterations = fields["i"].flatMap({ Int($0) }), iterations > 0
        else { throw PGError.authentication("a malformed SCRAM server-first message") }
        saltedPassword = Digest.pbkdf2SHA256(password: Array(password.utf8), salt: salt, iterations: iterations)
        let withoutProof = "c=biws,r=\(combined)"
        authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof
        let clientKey = Digest.hmacSHA256(key: saltedPassword, Array("Client Key".utf8))
        let signature = Digest.hmacSHA256(key: Digest.sha256(clientKey), Array(authMessage.utf8))
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        return withoutProof + ",p=" + Digest.base64(proof)
    }

    func verify(serverFinal: String) throws {
        let serverKey = Digest.hmacSHA256(key: saltedPassword, Array("Server Key".utf8))
        let expected = Digest.base64(Digest.hmacSHA256(key: serverKey, Array(authMessage.utf8)))
        guard serverFinal == "v=" + expected else {
            throw PGError.authentication("the server's SCRAM signature is wrong")
        }
    }
}
