import CCatCore
import Testing

/// The C radix router through its public functions.
@Suite("ccore radix router")
struct RouterTests {
    final class Router {
        let raw = cc_router_create()!
        deinit { cc_router_destroy(raw) }

        @discardableResult
        func add(_ method: cc_method, _ pattern: String, _ id: Int32) -> String? {
            var message = [CChar](repeating: 0, count: 256)
            let rc = cc_router_add(raw, method, pattern, id, &message, message.count)
            return rc == 0
                ? nil : String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        /// The match, with its parameters copied out while the path is still alive
        /// (parameter values point into the path).
        func match(_ method: cc_method, _ path: String) -> (cc_route_result, Match) {
            var m = cc_match()
            var params: [(String, String, Int64)] = []
            let r = path.withCString { cPath in
                let result = cc_router_match(raw, method, cPath, path.utf8.count, &m)
                params = withUnsafeBytes(of: m.params) { raw in
                    let p = raw.bindMemory(to: cc_param.self)
                    return (0..<Int(m.num_params)).map { i in
                        (Feeder.string(p[i].name), Feeder.string(p[i].value), p[i].int_value)
                    }
                }
                return result
            }
            return (r, Match(handler_id: m.handler_id, allowed_methods: m.allowed_methods, params: params))
        }
    }

    struct Match {
        let handler_id: Int32
        let allowed_methods: UInt32
        let params: [(String, String, Int64)]
    }

    static func params(_ m: Match) -> [(String, String, Int64)] { m.params }

    func makeRouter() -> Router {
        let r = Router()
        #expect(r.add(CC_METHOD_GET, "/plaintext", 1) == nil)
        #expect(r.add(CC_METHOD_GET, "/users/me", 2) == nil)
        #expect(r.add(CC_METHOD_GET, "/users/{id:int}", 3) == nil)
        #expect(r.add(CC_METHOD_GET, "/users/{name}", 4) == nil)
        #expect(r.add(CC_METHOD_POST, "/users/{id:int}", 5) == nil)
        #expect(r.add(CC_METHOD_GET, "/users/{id:int}/posts/{post:int}", 6) == nil)
        #expect(r.add(CC_METHOD_GET, "/static/{file:path}", 7) == nil)
        return r
    }

    @Test("static routes match exactly")
    func staticRoute() {
        let r = makeRouter()
        let (result, m) = r.match(CC_METHOD_GET, "/plaintext")
        #expect(result == CC_ROUTE_FOUND)
        #expect(m.handler_id == 1)
        #expect(r.match(CC_METHOD_GET, "/plaintext/").0 == CC_ROUTE_NOT_FOUND)
        #expect(r.match(CC_METHOD_GET, "/plaintex").0 == CC_ROUTE_NOT_FOUND)
    }

    @Test("typed parameters are parsed; literals win over parameters")
    func parameters() {
        let r = makeRouter()
        let (found, m) = r.match(CC_METHOD_GET, "/users/42")
        #expect(found == CC_ROUTE_FOUND)
        #expect(m.handler_id == 3)
        #expect(Self.params(m).map(\.0) == ["id"])
        #expect(Self.params(m).first?.2 == 42)
        #expect(r.match(CC_METHOD_GET, "/users/me").1.handler_id == 2)
        let (_, nested) = r.match(CC_METHOD_GET, "/users/7/posts/9")
        #expect(nested.handler_id == 6)
        #expect(Self.params(nested).map(\.2) == [7, 9])
        let (_, path) = r.match(CC_METHOD_GET, "/static/css/site.css")
        #expect(path.handler_id == 7)
        #expect(Self.params(path).first?.1 == "css/site.css")
    }

    @Test("a value that is not an integer falls back to the string parameter or is not found")
    func typedMismatch() {
        let r = makeRouter()
        let (result, m) = r.match(CC_METHOD_GET, "/users/alice")
        #expect(result == CC_ROUTE_FOUND)
        #expect(m.handler_id == 4)
        #expect(Self.params(m).first?.1 == "alice")
        let only = Router()
        #expect(only.add(CC_METHOD_GET, "/items/{id:int}", 1) == nil)
        #expect(only.match(CC_METHOD_GET, "/items/abc").0 == CC_ROUTE_NOT_FOUND)
        #expect(only.match(CC_METHOD_GET, "/items/12abc").0 == CC_ROUTE_NOT_FOUND)
        #expect(only.match(CC_METHOD_GET, "/items/99999999999999999999").0 == CC_ROUTE_NOT_FOUND)
        #expect(only.match(CC_METHOD_GET, "/items/").0 == CC_ROUTE_NOT_FOUND)
        #expect(only.match(CC_METHOD_GET, "/items/-5").1.handler_id == 1)
    }

    @Test("unknown paths are 404, known paths with another method are 405 with the allowed set")
    func notFoundAndMethodNotAllowed() {
        let r = makeRouter()
        #expect(r.match(CC_METHOD_GET, "/nothing/here").0 == CC_ROUTE_NOT_FOUND)
        let (result, m) = r.match(CC_METHOD_DELETE, "/users/42")
        #expect(result == CC_ROUTE_METHOD_NOT_ALLOWED)
        #expect(m.allowed_methods & (1 << CC_METHOD_GET.rawValue) != 0)
        #expect(m.allowed_methods & (1 << CC_METHOD_POST.rawValue) != 0)
        #expect(m.allowed_methods & (1 << CC_METHOD_DELETE.rawValue) == 0)
        #expect(r.match(CC_METHOD_HEAD, "/plaintext").1.handler_id == 1)
    }

    @Test("invalid and conflicting patterns are refused with a message")
    func invalidPatterns() {
        let r = makeRouter()
        #expect(r.add(CC_METHOD_GET, "no-slash", 9) != nil)
        #expect(r.add(CC_METHOD_GET, "/a/{unclosed", 9) != nil)
        #expect(r.add(CC_METHOD_GET, "/a/{x:float}", 9) != nil)
        #expect(r.add(CC_METHOD_GET, "/a/{rest:path}/more", 9) != nil)
        #expect(r.add(CC_METHOD_GET, "/plaintext", 9) != nil)
        let conflict = r.add(CC_METHOD_GET, "/users/{uid:int}/x", 9)
        #expect(conflict != nil)
    }
}

extension Feeder {
    static func string(_ s: cc_slice) -> String { String(decoding: bytes(s), as: UTF8.self) }
}
