import COpenSSL
import CTLSShim

/// TLS for the load: one OpenSSL client context per run, shared by the
/// threads (OpenSSL contexts are thread-safe once set up).
public struct TLSOptions: Sendable {
    /// Sent as SNI (unless it is an address) and verified against the certificate.
    public var serverName: String
    /// Skip certificate verification (self-signed servers).
    public var insecure: Bool
    /// Verify against these CAs instead of the system's.
    public var caFile: String?
    /// ALPN protocols offered, preferred first.
    public var alpn: [String]

    public init(serverName: String, insecure: Bool = false, caFile: String? = nil, alpn: [String] = ["http/1.1"]) {
        self.serverName = serverName
        self.insecure = insecure
        self.caFile = caFile
        self.alpn = alpn
    }
}

final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    let options: TLSOptions

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(_ options: TLSOptions) throws {
        self.options = options
        var wire: [UInt8] = []
        for name in options.alpn {
            wire.append(UInt8(name.utf8.count))
            wire += Array(name.utf8)
        }
        var message = [CChar](repeating: 0, count: 256)
        guard
            let ctx = ctls_client_context(
                wire, UInt32(wire.count), options.insecure ? 1 : 0, options.caFile, &message, message.count)
        else {
            throw Failure(
                description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        context = ctx
    }

    deinit { SSL_CTX_free(context) }

    func connection(fd: Int32) -> OpaquePointer? {
        ctls_client_connection(context, fd, options.serverName, options.insecure ? 0 : 1)
    }

    static func lastError(_ ssl: OpaquePointer?) -> String {
        var message = [CChar](repeating: 0, count: 256)
        ctls_last_error(ssl, &message, message.count)
        return String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func alpnSelected(_ ssl: OpaquePointer) -> String {
        var name = [CChar](repeating: 0, count: 32)
        ctls_alpn_selected(ssl, &name, name.count)
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
