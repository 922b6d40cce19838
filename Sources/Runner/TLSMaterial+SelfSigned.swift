import CSelfSigned
import Suites

extension TLSMaterial {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A self-signed certificate for localhost, 127.0.0.1 and ::1 (P-256, a
    /// year), made now by the harness: no stack under test makes the
    /// certificate it is measured with.
    public static func selfSigned(commonName: String = "localhost") throws -> TLSMaterial {
        var cert: UnsafeMutablePointer<CChar>?
        var key: UnsafeMutablePointer<CChar>?
        var message = [CChar](repeating: 0, count: 256)
        guard cs_make_self_signed(commonName, &cert, &key, &message, message.count) == 0, let cert, let key else {
            throw Failure(
                description: "cannot make a self-signed certificate: "
                    + String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer {
            cs_free(cert)
            cs_free(key)
        }
        return TLSMaterial(certificatePEM: String(cString: cert), privateKeyPEM: String(cString: key))
    }
}
