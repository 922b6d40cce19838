import CCatCore

/// A certificate and its key, as PEM text, for a TLS listener.
public struct CCoreTLS: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A fresh self-signed certificate (P-256, a year) for `commonName`,
    /// valid for localhost, 127.0.0.1 and ::1 too.
    public static func selfSigned(commonName: String = "localhost") throws -> CCoreTLS {
        var cert: UnsafeMutablePointer<CChar>?
        var key: UnsafeMutablePointer<CChar>?
        var message = [CChar](repeating: 0, count: 256)
        guard cc_tls_generate_self_signed(commonName, &cert, &key, &message, message.count) == 0, let cert, let key else {
            throw Failure(description: "cannot make a self-signed certificate: " +
                          String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer {
            cc_free(cert)
            cc_free(key)
        }
        return CCoreTLS(certificatePEM: String(cString: cert), privateKeyPEM: String(cString: key))
    }
}
