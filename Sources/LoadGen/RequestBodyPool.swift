/// Hands out one `RequestBody` per distinct array storage, so that requests
/// built from the same bytes (every variant of a file upload) share one
/// segment instead of a copy each. Arrays are told apart by their storage, not
/// compared byte by byte.
public struct RequestBodyPool {
    private var bodies: [Key: RequestBody] = [:]
    /// The arrays seen, kept alive so that no storage is freed and reused while
    /// the pool may still be asked (an address names one array only while it lives).
    private var kept: [[UInt8]] = []

    private struct Key: Hashable {
        let address: UInt
        let count: Int
    }

    public init() {}

    public mutating func body(_ bytes: [UInt8]) -> RequestBody {
        guard !bytes.isEmpty else { return RequestBody() }
        let address = bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let key = Key(address: address, count: bytes.count)
        if let known = bodies[key] { return known }
        let body = RequestBody(bytes)
        bodies[key] = body
        kept.append(bytes)
        return body
    }
}
