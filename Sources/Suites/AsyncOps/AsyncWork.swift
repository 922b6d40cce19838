import COpenSSL
import WireFormat

/// What the async-operations suite's handlers do, the same on every stack:
/// waits that stand for I/O, a file to read, an upstream to call and CPU work
/// to hand to a pool. How a design waits is what the suite compares.
public enum AsyncWork {
    /// The simulated I/O call: a wait of this long.
    public static let ioNanos: UInt64 = 1_000_000
    /// Upstream calls made concurrently by the fan-out handler.
    public static let fanout = 10
    /// The upstream service answers a plain call after this long.
    public static let upstreamDelayMillis = 2
    /// …and each call of a fan-out after this long.
    public static let fanoutDelayMillis = 1

    /// The upstream call of the upstream handler.
    public static func upstreamTarget(n: Int) -> String { "/delay?n=\(n)" }

    /// The `call`-th upstream call of a fan-out of `group` (the group is
    /// passed on as the request gave it, percent-encoded).
    public static func fanoutTarget(call: Int, group: String) -> String {
        "/delay?n=\(call)&ms=\(fanoutDelayMillis)&group=\(QueryString.encode(group))"
    }
    /// The file the file handler reads.
    public static let fileBytes = 64 * 1024

    /// The file's content: deterministic, so the checksum can be verified.
    public static func fileContent() -> [UInt8] {
        var state: UInt32 = 2_463_534_242
        return (0..<fileBytes).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// SHA-256 as lowercase hex, through OpenSSL: the file handler's checksum.
    /// Every server computes it with native code (Python's hashlib is OpenSSL
    /// too), so the file workload measures reading, not an interpreter's loop.
    public static func sha256(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha256(), nil)
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in digest.prefix(Int(length)) {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func sha256(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { sha256($0) }
    }

    /// The CPU work: 50,000 rounds of xorshift mixing from `seed`, about 100 µs.
    public static func cpu(seed: UInt64) -> String {
        var x = seed | 1
        var acc: UInt64 = 0
        for _ in 0..<50_000 {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            acc = acc &+ (x &* 0x9E37_79B9_7F4A_7C15)
        }
        return hex(acc)
    }

    static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
