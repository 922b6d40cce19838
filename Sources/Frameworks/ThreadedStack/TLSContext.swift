import CTLSServerShim

/// The listener's OpenSSL context: the identity, ALPN `http/1.1` and the
/// socket BIO, shared by every thread (a session is made from it per connection).
final class TLSContext: @unchecked Sendable {
    let handle: OpaquePointer

    init(_ identity: TLSIdentity) throws {
        var message = [CChar](repeating: 0, count: 512)
        guard
            let handle = ctlss_context_new(
                identity.certificateChainPEM, identity.privateKeyPEM,
                &message, message.count)
        else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw TLSSetupError(description: text.isEmpty ? "cannot set up TLS" : text)
        }
        self.handle = handle
    }

    deinit { ctlss_context_free(handle) }
}
