/// A request body, stored once and shared: its bytes live in segments that
/// every variant, connection and run sending them points at, so a 10 MiB upload
/// is held once and never copied per request or per connection. A body of
/// several segments (a multipart form around a shared file) is sent as they
/// are, one after the other.
public struct RequestBody: Sendable {
    /// Immutable bytes, copied in once. Read-only after `init`, so any thread may read them.
    public final class Segment: @unchecked Sendable {
        let start: UnsafeMutablePointer<UInt8>
        public let count: Int

        public init(_ bytes: some Collection<UInt8>) {
            count = bytes.count
            start = .allocate(capacity: max(1, count))
            _ = UnsafeMutableBufferPointer(start: start, count: count).initialize(from: bytes)
        }

        deinit { start.deallocate() }
    }

    public let segments: [Segment]
    /// Bytes over all segments.
    public let count: Int

    /// No body.
    public init() {
        segments = []
        count = 0
    }

    /// A body of one new segment holding a copy of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.init(segments: bytes.isEmpty ? [] : [Segment(bytes)])
    }

    /// A body made of these segments, in order (shared, not copied).
    public init(segments: [Segment]) {
        self.segments = segments.filter { $0.count > 0 }
        count = self.segments.reduce(0) { $0 + $1.count }
    }

    public var isEmpty: Bool { count == 0 }

    /// The whole body in one array: a copy, for checks and tests, never for the load.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for segment in segments { out += UnsafeBufferPointer(start: segment.start, count: segment.count) }
        return out
    }
}
