import Accounting
import CBuildInfo
import LoadGen
import Results

/// The version of catbench and of what it links.
public enum BuildInfo {
    public static let version = "0.1.0"

    public static var commit: String? {
        let value = String(cString: catbench_build_commit())
        return value == "unknown" || value.isEmpty ? nil : value
    }

    public static var libraries: [String: String] {
        [
            "jemalloc": Jemalloc.version ?? "not the allocator",
            "nghttp2": LibraryVersions.nghttp2,
            "openssl": LibraryVersions.openSSL,
        ]
    }

    public static var toolInfo: ToolInfo {
        ToolInfo(version: version, commit: commit, libraries: libraries)
    }

    /// The text of `catbench --version`.
    public static var versionText: String {
        var text = "catbench \(version)"
        if let commit { text += " (\(commit.prefix(12)))" }
        text += "\n" + libraries.sorted { $0.key < $1.key }.map { "  \($0.key) \($0.value)" }.joined(separator: "\n")
        return text
    }
}
