/// Everything the load loop keeps for one connection, stored in a flat array
/// (no object per connection, no allocation per request).
struct ConnectionSlot {
    enum State: UInt8 {
        case closed        // waiting to (re)connect at `reconnectAt`
        case connecting    // non-blocking connect under way
        case idle          // connected, nothing in flight
        case writing       // request partly written
        case reading       // request written, answer not complete
        case finished      // no more requests for this connection
    }

    enum Phase: UInt8 {
        case head, body, chunkSize, chunkData, chunkEnd, trailers, untilClose
    }

    var fd: Int32 = -1
    var state: State = .closed
    var phase: Phase = .head
    var closeAfter = false
    var sampling = false
    var noBody = false
    var variant: Int32 = 0
    var status: Int32 = 0
    var writeOffset: Int32 = 0
    var used: Int32 = 0
    var scanFrom: Int32 = 0
    var remaining: Int64 = 0
    var sentAt: UInt64 = 0
    var reconnectAt: UInt64 = 0
    var connectFailures: UInt32 = 0
    var buffer: UnsafeMutablePointer<UInt8>

    init(buffer: UnsafeMutablePointer<UInt8>) {
        self.buffer = buffer
    }

    var inFlight: Bool { state == .writing || state == .reading }
}
