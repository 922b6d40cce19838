import CNghttp2

/// The requests as HTTP/2 header lists, built once per run from the HTTP/1.1
/// encodings and shared read-only by the threads: every name and value lives
/// in one block for the whole run, so nghttp2 is told not to copy them.
final class H2RequestTable: @unchecked Sendable {
    let nvs: [UnsafeMutablePointer<nghttp2_nv>]
    let nvCounts: [Int]
    let bodies: [UnsafeBufferPointer<UInt8>]
    private let storage: UnsafeMutablePointer<UInt8>

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    init(requests: [LoadRequest], scheme: String) throws {
        var lists: [[(String, String)]] = []
        var bodyRanges: [(Int, Int)] = []
        var blob: [UInt8] = []
        for request in requests {
            let bytes = request.bytes
            var headEnd = bytes.count
            for i in 0..<max(0, bytes.count - 3) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
                headEnd = i
                break
            }
            let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).split(separator: "\r\n").map(String.init)
            let requestLine = lines.first?.split(separator: " ") ?? []
            guard requestLine.count == 3 else { throw Invalid(description: "cannot turn request into HTTP/2: \(lines.first ?? "")") }
            var authority = ""
            var fields: [(String, String)] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = String(line[line.index(after: colon)...].drop { $0 == " " })
                switch name {
                case "host": authority = value
                // RFC 9113 §8.2.2: connection-specific fields are not sent in HTTP/2.
                case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade": continue
                default: fields.append((name, value))
                }
            }
            lists.append([(":method", String(requestLine[0])), (":path", String(requestLine[1])),
                          (":scheme", scheme), (":authority", authority)] + fields)
            let bodyStart = min(headEnd + 4, bytes.count)
            bodyRanges.append((blob.count, bytes.count - bodyStart))
            blob += bytes[bodyStart...]
        }
        // Names and values follow the bodies in the same block.
        var nameValueOffsets: [[(Int, Int, Int, Int)]] = []
        for list in lists {
            var offsets: [(Int, Int, Int, Int)] = []
            for (name, value) in list {
                let n = blob.count
                blob += Array(name.utf8)
                let v = blob.count
                blob += Array(value.utf8)
                offsets.append((n, name.utf8.count, v, value.utf8.count))
            }
            nameValueOffsets.append(offsets)
        }
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, blob.count))
        blob.withUnsafeBufferPointer { block.update(from: $0.baseAddress!, count: $0.count) }
        var nvs: [UnsafeMutablePointer<nghttp2_nv>] = []
        for offsets in nameValueOffsets {
            let nv = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: offsets.count)
            for (k, (n, nl, v, vl)) in offsets.enumerated() {
                nv[k] = nghttp2_nv(name: block + n, value: block + v, namelen: nl, valuelen: vl,
                                   flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue))
            }
            nvs.append(nv)
        }
        self.nvs = nvs
        nvCounts = nameValueOffsets.map(\.count)
        bodies = bodyRanges.map { UnsafeBufferPointer(start: block + $0.0, count: $0.1) }
        storage = block
    }

    deinit {
        for nv in nvs { nv.deallocate() }
        storage.deallocate()
    }
}
