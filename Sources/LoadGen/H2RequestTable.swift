import CNghttp2

/// The run's requests as HTTP/2 header lists, encoded once when the run
/// starts from the requests' structure and shared read-only by the threads:
/// every name and value lives in one block for the whole run, so nghttp2 is
/// told not to copy them. Bodies are the requests' segments, read in place.
///
/// RFC 9113 §8.3.1: the pseudo-header fields come first; `Host` becomes
/// `:authority`. §8.2: field names are lower case, and the connection-specific
/// fields of §8.2.2 are not sent (`TE` only as `trailers`).
final class H2RequestTable: @unchecked Sendable {
    typealias Piece = H1RequestTable.Piece

    let nvs: [UnsafeMutablePointer<nghttp2_nv>]
    let nvCounts: [Int]
    /// Each request's body segments and its length.
    let bodyPieces: [[Piece]]
    let bodyLengths: [Int]
    private let storage: UnsafeMutablePointer<UInt8>
    private let bodies: [RequestBody]

    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    ]

    init(requests: [LoadRequest], host: String, scheme: String) throws {
        var lists: [[(String, String)]] = []
        for (n, request) in requests.enumerated() {
            let parts = try RequestFields(request, number: n, host: host)
            var list = [
                (":method", parts.method), (":scheme", scheme), (":authority", parts.authority),
                (":path", parts.target),
            ]
            for (name, value) in parts.fields {
                let lower = name.lowercased()
                if Self.connectionSpecific.contains(lower) { continue }
                if lower == "te" && value.lowercased() != "trailers" { continue }
                list.append((lower, value))
            }
            if let length = parts.contentLength { list.append(("content-length", String(length))) }
            lists.append(list)
        }
        var blob: [UInt8] = []
        var offsets: [[(Int, Int, Int, Int)]] = []
        for list in lists {
            offsets.append(
                list.map { name, value in
                    let n = blob.count
                    blob += name.utf8
                    let v = blob.count
                    blob += value.utf8
                    return (n, name.utf8.count, v, value.utf8.count)
                })
        }
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, blob.count))
        blob.withUnsafeBufferPointer { block.initialize(from: $0.baseAddress!, count: $0.count) }
        let flags = UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue)
        nvs = offsets.map { list in
            let nv = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: max(1, list.count))
            for (k, (n, nl, v, vl)) in list.enumerated() {
                nv[k] = nghttp2_nv(name: block + n, value: block + v, namelen: nl, valuelen: vl, flags: flags)
            }
            return nv
        }
        nvCounts = offsets.map(\.count)
        bodyPieces = requests.map { request in
            request.body.segments.map { Piece(base: UnsafeMutableRawPointer($0.start), count: $0.count) }
        }
        bodyLengths = requests.map(\.body.count)
        bodies = requests.map(\.body)
        storage = block
    }

    deinit {
        for nv in nvs { nv.deallocate() }
        storage.deallocate()
    }

    /// Request `variant`'s header list as (name, value) pairs (tests and messages).
    func headerList(_ variant: Int) -> [(name: String, value: String)] {
        (0..<nvCounts[variant]).map { k in
            let nv = nvs[variant][k]
            return (
                String(decoding: UnsafeBufferPointer(start: nv.name, count: nv.namelen), as: UTF8.self),
                String(decoding: UnsafeBufferPointer(start: nv.value, count: nv.valuelen), as: UTF8.self)
            )
        }
    }

    /// Copies up to `length` bytes of request `variant`'s body from `offset` into `buffer`; returns how many.
    @inline(__always)
    func copyBody(_ variant: Int, from offset: Int, into buffer: UnsafeMutablePointer<UInt8>, length: Int) -> Int {
        var skip = offset
        var copied = 0
        for piece in bodyPieces[variant] where copied < length {
            if skip >= piece.count {
                skip -= piece.count
                continue
            }
            let n = min(length - copied, piece.count - skip)
            (buffer + copied).update(from: piece.base.assumingMemoryBound(to: UInt8.self) + skip, count: n)
            copied += n
            skip = 0
        }
        return copied
    }
}
