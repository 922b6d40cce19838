/// Everything the load loop keeps for one connection, stored in a flat array
/// (no object per connection, no allocation per request). The requests in
/// flight live in the worker's per-slot FIFO rings (`pipeline` entries each).
struct ConnectionSlot {
    enum State: UInt8 {
        case parked  // not active in the profile: no socket
        case waiting  // active, no socket: (re)connect at `reconnectAt`
        case connecting  // non-blocking connect under way
        case handshaking  // TLS handshake under way
        case open  // connected; `pendCount` requests in flight
        case finished  // nothing more to send this run
    }

    enum Phase: UInt8 {
        case head, body, chunkSize, chunkData, chunkEnd, trailers, untilClose
    }

    var fd: Int32 = -1
    /// The OpenSSL connection over `fd`, for https targets.
    var ssl: OpaquePointer?
    var state: State = .parked
    var phase: Phase = .head
    var closeAfter = false
    var sampling = false
    var noBody = false
    var inHeap = false
    /// The connection speaks HTTP/2 (h2c, or h2 chosen by ALPN).
    var http2 = false
    var status: Int32 = 0
    var used: Int32 = 0
    var scanFrom: Int32 = 0
    var remaining: Int64 = 0
    /// In-flight FIFO: first entry, entries, entries written whole, bytes of the next one written.
    var pendHead: Int32 = 0
    var pendCount: Int32 = 0
    var written: Int32 = 0
    var writeOffset: Int32 = 0
    /// Open loop: the intended send time of this connection's next request.
    var nextDue: UInt64 = 0
    var connectStartedAt: UInt64 = 0
    var reconnectAt: UInt64 = 0
    var connectFailures: UInt32 = 0
    var buffer: UnsafeMutablePointer<UInt8>

    init(buffer: UnsafeMutablePointer<UInt8>) {
        self.buffer = buffer
    }

    var busy: Bool { pendCount > 0 || state == .connecting || state == .handshaking }
}
