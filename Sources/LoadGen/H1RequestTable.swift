/// The run's requests as HTTP/1.1 bytes, encoded once when the run starts and
/// shared read-only by the load threads. Every request's head lives in one
/// block; its body is its `RequestBody`'s segments, pointed at, not copied. A
/// request on the wire is its pieces in order (head, then body segments),
/// which a connection writes with one `writev`.
///
///     request      = request-line *( field-line CRLF ) CRLF [ body ]   (RFC 9112 §2.1)
///     request-line = method SP request-target SP HTTP-version CRLF
final class H1RequestTable: @unchecked Sendable {
    struct Piece {
        let base: UnsafeMutableRawPointer
        let count: Int
    }

    /// Every request's pieces, request after request.
    let pieces: UnsafeMutablePointer<Piece>
    let firstPiece: [Int]
    let pieceCount: [Int]
    /// Bytes of each request on the wire.
    let lengths: [Int]
    /// The most pieces any request has.
    let maxPieces: Int
    private let heads: UnsafeMutablePointer<UInt8>
    /// Keeps the body segments alive for the table's life.
    private let bodies: [RequestBody]

    /// `keepAlive` false asks the server to close after every answer (`Connection: close`).
    init(requests: [LoadRequest], host: String, keepAlive: Bool) throws {
        var text: [UInt8] = []
        var headRanges: [(Int, Int)] = []
        for (n, request) in requests.enumerated() {
            let parts = try RequestFields(request, number: n, host: host)
            let start = text.count
            func line(_ s: String) { text += s.utf8; text += [13, 10] }
            line("\(parts.method) \(parts.target) HTTP/1.1")
            line("Host: \(parts.authority)")
            for (name, value) in parts.fields where keepAlive || name.lowercased() != "connection" {
                line("\(name): \(value)")
            }
            if let length = parts.contentLength { line("Content-Length: \(length)") }
            if !keepAlive { line("Connection: close") }
            text += [13, 10]
            headRanges.append((start, text.count - start))
        }
        let heads = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, text.count))
        text.withUnsafeBufferPointer { heads.initialize(from: $0.baseAddress!, count: $0.count) }
        self.heads = heads
        var all: [Piece] = []
        var first: [Int] = []
        var counts: [Int] = []
        var lengths: [Int] = []
        for (request, (start, length)) in zip(requests, headRanges) {
            first.append(all.count)
            all.append(Piece(base: UnsafeMutableRawPointer(heads + start), count: length))
            for segment in request.body.segments {
                all.append(Piece(base: UnsafeMutableRawPointer(segment.start), count: segment.count))
            }
            counts.append(all.count - first[first.count - 1])
            lengths.append(length + request.body.count)
        }
        let pieces = UnsafeMutablePointer<Piece>.allocate(capacity: max(1, all.count))
        all.withUnsafeBufferPointer { pieces.initialize(from: $0.baseAddress!, count: $0.count) }
        self.pieces = pieces
        firstPiece = first
        pieceCount = counts
        self.lengths = lengths
        maxPieces = counts.max() ?? 1
        bodies = requests.map(\.body)
    }

    deinit {
        heads.deallocate()
        pieces.deallocate()
    }

    /// Request `variant`'s head, as text (tests and messages).
    func head(_ variant: Int) -> String {
        let piece = pieces[firstPiece[variant]]
        return String(decoding: UnsafeRawBufferPointer(start: piece.base, count: piece.count), as: UTF8.self)
    }
}
