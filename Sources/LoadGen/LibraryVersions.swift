import CNghttp2
import COpenSSL

/// Versions of the C libraries linked into the load generator, for results
/// and `catbench --version`.
public enum LibraryVersions {
    public static var nghttp2: String {
        guard let info = nghttp2_version(0) else { return "unknown" }
        return String(cString: info.pointee.version_str)
    }

    public static var openSSL: String {
        guard let text = OpenSSL_version(Int32(OPENSSL_VERSION)) else { return "unknown" }
        return String(cString: text)
    }
}
