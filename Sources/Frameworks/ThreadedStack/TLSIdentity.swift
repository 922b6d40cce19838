/// What a TLS listener presents to clients, as PEM text: the certificate
/// chain (the server's own certificate first, then each issuer that leads
/// towards a root the clients trust) and the private key of the first.
/// The threaded counterpart of gunicorn's `--certfile` / `--keyfile`.
public struct TLSIdentity: Sendable {
    public var certificateChainPEM: String
    public var privateKeyPEM: String

    public init(certificateChainPEM: String, privateKeyPEM: String) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// Why a TLS listener could not be set up, in words the person who gave the
/// certificate and key can act on (for example "the TLS private key does not
/// belong to the certificate").
public struct TLSSetupError: Error, CustomStringConvertible {
    public let description: String
}
