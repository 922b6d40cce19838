/// A request's parts as both encoders use them, checked once when a run
/// starts: the authority, the end-to-end header fields, and the framing the
/// encoder adds itself.
///
///     method        = token
///     field-name    = token
///     field-value   = *( field-vchar / SP / HTAB )      (RFC 9110 §5.5: no CR, LF or NUL)
///     request-target: origin-form, no whitespace         (RFC 9112 §3.2)
struct RequestFields {
    let method: String
    let target: String
    /// The first `Host` field's value, else the run's host.
    let authority: String
    /// The request's fields without Host, Content-Length and Transfer-Encoding, in order.
    let fields: [(name: String, value: String)]
    /// Sent with a body, and with POST, PUT and PATCH even when empty (a server may refuse them without it).
    let contentLength: Int?

    init(_ request: LoadRequest, number: Int, host: String) throws {
        func invalid(_ what: String) -> LoadOptions.Invalid {
            LoadOptions.Invalid(description: "request #\(number) (\(request.method) \(request.target)): \(what)")
        }
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(Self.isTokenByte) else {
            throw invalid("the method is not a token")
        }
        guard !request.target.isEmpty, request.target.utf8.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            throw invalid("the target is empty or holds whitespace or control characters; percent-encode it")
        }
        var authority: String?
        var fields: [(name: String, value: String)] = []
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw invalid("'\(name)' is not a header name")
            }
            guard value.utf8.allSatisfy({ $0 != 13 && $0 != 10 && $0 != 0 }) else {
                throw invalid("the value of \(name) holds CR, LF or NUL")
            }
            switch name.lowercased() {
            case "host":
                if authority == nil { authority = value }
            case "content-length":
                continue
            case "transfer-encoding":
                throw invalid("Transfer-Encoding is not sent: the load generator frames bodies with Content-Length")
            default:
                fields.append((name, value))
            }
        }
        method = request.method
        target = request.target
        self.authority = authority ?? host
        self.fields = fields
        let framed = !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method)
        contentLength = framed ? request.body.count : nil
    }

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}
