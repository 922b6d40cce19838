import Suites
import Testing

@Suite("shared logic: tokens, limits, policies")
struct SharedLogicTests {
    let secret = Array("s3cret".utf8)

    @Test("base64url round-trips and refuses what is not base64url")
    func base64url() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "\u{0}\u{ff}é"] {
            let bytes = Array(text.utf8)
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
        #expect(Base64URL.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode(Array("Zm9v+/8".utf8)) == nil)
        #expect(Base64URL.decode(Array("Zm9v=".utf8)) == nil)
        #expect(Base64URL.decode(Array("Z".utf8)) == nil)
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmacVector() {
        let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        let hex = mac.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("a signed token verifies, with its subject")
    func roundTrip() throws {
        let token = JWT.sign(subject: "user-7", expires: 2_000_000_000, secret: secret)
        let claims = try JWT.verify(authorization: "Bearer \(token)", secret: secret, now: 1_900_000_000).get()
        #expect(claims.subject == "user-7" && claims.expires == 2_000_000_000)
    }

    @Test("every malformed, forged, expired or unsigned token is refused for its reason")
    func rejections() {
        let good = JWT.sign(subject: "u", expires: 2_000_000_000, secret: secret)
        let parts = good.split(separator: ".").map(String.init)
        let none = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + parts[1] + "."
        let cases: [(String?, JWT.Rejection)] = [
            (nil, .missing),
            ("Basic dXNlcjpwYXNz", .missing),
            ("Bearer", .missing),
            ("Bearer abc", .malformed),
            ("Bearer a.b", .malformed),
            ("Bearer a.b.c.d", .malformed),
            ("Bearer ***.***.***", .malformed),
            ("Bearer \(Base64URL.encode(Array("[1]".utf8))).\(parts[1]).\(parts[2])", .malformed),
            ("Bearer \(none)", .algorithm),
            ("Bearer \(parts[0]).\(parts[1]).\(Base64URL.encode([UInt8](repeating: 0, count: 32)))", .signature),
            ("Bearer \(JWT.sign(subject: "u", expires: 2_000_000_000, secret: Array("other".utf8)))", .signature),
            ("Bearer \(JWT.sign(subject: "u", expires: 1_000, secret: secret))", .expired),
        ]
        for (header, expected) in cases {
            switch JWT.verify(authorization: header, secret: secret, now: 1_900_000_000) {
            case .success: Issue.record("accepted \(header ?? "nil")")
            case .failure(let reason): #expect(reason == expected, "\(header ?? "nil")")
            }
        }
    }

    @Test("the token bucket allows its capacity, then refuses with a Retry-After, then refills")
    func rateLimit() {
        let limiter = RateLimiter(policy: MiddlewarePolicy.ratePolicy)
        let t0: UInt64 = 1_000_000_000
        #expect(limiter.take("tight-a", now: t0).allowed)
        #expect(limiter.take("tight-a", now: t0).allowed)
        let refused = limiter.take("tight-a", now: t0)
        #expect(!refused.allowed)
        #expect(refused.retryAfter == 2)
        #expect(limiter.take("tight-b", now: t0).allowed, "keys are separate")
        #expect(limiter.take("tight-a", now: t0 + 2_000_000_000).allowed, "one token back after 2 s")
        for _ in 0..<10_000 { #expect(limiter.take("client-1", now: t0).allowed) }
    }

    @Test("Accept values that allow JSON")
    func accept() {
        #expect(MiddlewarePolicy.acceptsJSON(nil))
        #expect(MiddlewarePolicy.acceptsJSON("application/json"))
        #expect(MiddlewarePolicy.acceptsJSON("text/html, */*;q=0.1"))
        #expect(MiddlewarePolicy.acceptsJSON("application/*"))
        #expect(!MiddlewarePolicy.acceptsJSON("text/html"))
        #expect(!MiddlewarePolicy.acceptsJSON("application/xml, text/plain"))
    }
}
