#if canImport(Glibc)
    import Glibc
#endif

/// Static files by the HTTP rules, for the Swift stacks (as Starlette's
/// `StaticFiles` or Werkzeug's `send_file` are for theirs): the request path
/// checked and decoded, the file opened beneath the folder without following
/// a symbolic link, and RFC 9110's validators (§8.8), conditional requests
/// (§13) and one byte range (§14) decided. How the body then goes out — NIO's
/// file region, a blocking read-and-write loop — is the stack's own.
public final class StaticFiles: Sendable {
    public let folder: String
    private let dirfd: Int32

    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(folder: String) throws {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw OpenError(description: "cannot open the static folder \(folder): \(String(cString: strerror(errno)))")
        }
        self.folder = folder
        dirfd = fd
    }

    deinit { close(dirfd) }

    /// An open file to answer with; the receiver closes `fd` (`close()`).
    public struct Body: Sendable {
        public let fd: Int32
        public let offset: Int
        public let length: Int

        public func close() { _ = Glibc.close(fd) }
    }

    /// What to answer: a status, header fields, and the file's bytes to send (none for 304, errors, HEAD).
    public struct Answer: Sendable {
        public var status: Int
        public var contentType: String?
        public var headers: [(name: String, value: String)]
        /// The body's length (Content-Length), also for HEAD.
        public var length: Int
        public var body: Body?
    }

    /// The answer to `method` of `path` (the raw, percent-encoded rest of the
    /// path after the mount's prefix) with the request's header lookup.
    public func answer(method: String, path: String, header: (String) -> String?) -> Answer {
        func error(_ status: Int, _ headers: [(String, String)] = []) -> Answer {
            Answer(status: status, contentType: nil, headers: headers, length: 0, body: nil)
        }
        guard method == "GET" || method == "HEAD" else { return error(405, [("Allow", "GET, HEAD")]) }
        let decoded: String
        switch Self.checkPath(path) {
        case .malformed: return error(400)
        case .refused: return error(404)
        case .path(let p): decoded = p
        }
        var info = stat()
        let fd = openBeneath(decoded, &info)
        guard fd >= 0 else { return error(404) }
        let size = Int(info.st_size)
        let mtime = Int(info.st_mtim.tv_sec)
        let etag =
            "\"\(String(size, radix: 16))-\(String(mtime, radix: 16))\(String(info.st_mtim.tv_nsec, radix: 16))\""
        let modified = HTTPDate.format(epochSeconds: mtime)
        var headers: [(name: String, value: String)] = [("ETag", etag), ("Last-Modified", modified)]
        func refuse(_ status: Int, _ extra: [(String, String)] = []) -> Answer {
            Glibc.close(fd)
            return error(status, extra)
        }
        // RFC 9110 §13.2.2: the preconditions, in order.
        if let ifMatch = header("If-Match"), !Self.listed(etag, in: ifMatch, strong: true) { return refuse(412) }
        if header("If-Match") == nil, let since = header("If-Unmodified-Since").flatMap(HTTPDate.parse), mtime > since {
            return refuse(412)
        }
        let notModified: Bool
        if let ifNone = header("If-None-Match") {
            notModified = Self.listed(etag, in: ifNone, strong: false)
        } else if let since = header("If-Modified-Since").flatMap(HTTPDate.parse) {
            notModified = mtime <= since
        } else {
            notModified = false
        }
        if notModified {
            Glibc.close(fd)
            return Answer(status: 304, contentType: nil, headers: headers, length: 0, body: nil)
        }
        headers.append(("Accept-Ranges", "bytes"))
        let type = Self.contentType(decoded)
        var status = 200
        var offset = 0
        var length = size
        if method == "GET", let range = header("Range") {
            var honour = true
            if let ifRange = header("If-Range") {
                honour = ifRange.hasPrefix("\"") ? ifRange == etag : ifRange == modified
            }
            switch honour ? Self.range(range, size: size) : .ignore {
            case .unsatisfiable: return refuse(416, [("Content-Range", "bytes */\(size)")])
            case .bytes(let first, let last):
                status = 206
                offset = first
                length = last - first + 1
                headers.append(("Content-Range", "bytes \(first)-\(last)/\(size)"))
            case .ignore: break
            }
        }
        if method == "HEAD" {
            Glibc.close(fd)
            return Answer(status: status, contentType: type, headers: headers, length: length, body: nil)
        }
        return Answer(
            status: status, contentType: type, headers: headers, length: length,
            body: Body(fd: fd, offset: offset, length: length))
    }

    public enum PathCheck: Equatable {
        case path(String)
        case malformed
        case refused
    }

    /// Percent-decodes `raw`; refuses an empty segment (an absolute path,
    /// "//"), ".", "..", an encoded "/" or "\", a raw "\"; a bad escape or a NUL is malformed.
    public static func checkPath(_ raw: String) -> PathCheck {
        var out: [UInt8] = []
        var segment = 0
        let bytes = Array(raw.utf8)
        var i = 0
        func segmentOK() -> Bool {
            let s = out[segment...]
            return !s.isEmpty && !(s.count == 1 && s.first == 0x2E) && !(s.count == 2 && s.allSatisfy { $0 == 0x2E })
        }
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == 0x2F {
                guard segmentOK() else { return .refused }
                if i == bytes.count { break }
                out.append(0x2F)
                segment = out.count
                i += 1
                continue
            }
            var b = bytes[i]
            if b == 0x25 {
                guard i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else {
                    return .malformed
                }
                b = hi << 4 | lo
                i += 2
                if b == 0x2F || b == 0x5C { return .refused }
                if b == 0 { return .malformed }
            } else if b == 0x5C {
                return .refused
            } else if b == 0 {
                return .malformed
            }
            out.append(b)
            i += 1
        }
        guard out.count < 1024 else { return .refused }
        return .path(String(decoding: out, as: UTF8.self))
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    /// Linux's O_PATH (an fd that only names a folder), which Glibc's module does not export.
    private static let pathOnly: Int32 = 0o10_000_000

    /// Opens the checked path one segment at a time beneath the folder,
    /// following no symbolic link; a regular file only. -1 otherwise.
    private func openBeneath(_ path: String, _ info: inout stat) -> Int32 {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        var dir = dirfd
        for (n, part) in parts.enumerated() {
            let last = n == parts.count - 1
            let flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY | Self.pathOnly)
            let fd = openat(dir, String(part), flags)
            if dir != dirfd { Glibc.close(dir) }
            guard fd >= 0 else { return -1 }
            if last {
                guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                    Glibc.close(fd)
                    return -1
                }
                return fd
            }
            dir = fd
        }
        return -1
    }

    /// §8.8.3.2: `etag` in a list of entity-tags (or "*"), by weak or strong comparison.
    static func listed(_ etag: String, in list: String, strong: Bool) -> Bool {
        for item in list.split(separator: ",") {
            var tag = item.drop { $0 == " " || $0 == "\t" }
            while let last = tag.last, last == " " || last == "\t" { tag = tag.dropLast() }
            if tag == "*" { return true }
            let weak = tag.hasPrefix("W/")
            if weak { tag = tag.dropFirst(2) }
            if tag == etag && !(strong && weak) { return true }
        }
        return false
    }

    public enum RangeAnswer: Equatable {
        case bytes(Int, Int)
        case ignore
        case unsatisfiable
    }

    /// One `bytes=` range against `size` bytes; several ranges or another unit are ignored (the whole file).
    public static func range(_ value: String, size: Int) -> RangeAnswer {
        guard value.count > 6, value.prefix(6).lowercased() == "bytes=" else { return .ignore }
        let spec = value.dropFirst(6).filter { $0 != " " && $0 != "\t" }
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .ignore }
        let a = spec[..<dash]
        let b = spec[spec.index(after: dash)...]
        func number(_ s: Substring) -> Int? { s.isEmpty || !s.allSatisfy({ $0 >= "0" && $0 <= "9" }) ? nil : Int(s) }
        if a.isEmpty {
            guard let n = number(b), n >= 0 else { return .ignore }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .bytes(max(0, size - n), size - 1)
        }
        guard let first = number(a), first >= 0 else { return .ignore }
        var last = Int.max
        if !b.isEmpty {
            guard let l = number(b), l >= first else { return .ignore }
            last = l
        }
        guard first < size else { return .unsatisfiable }
        return .bytes(first, min(last, size - 1))
    }

    static func contentType(_ path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        switch name[name.index(after: dot)...].lowercased() {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "txt": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "wasm": return "application/wasm"
        default: return "application/octet-stream"
        }
    }
}

extension HTTPDate {
    /// An HTTP-date as seconds since the epoch: IMF-fixdate ("Sun, 06 Nov
    /// 1994 08:49:37 GMT"), or the obsolete RFC 850 ("Sunday, 06-Nov-94
    /// 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994") forms that
    /// recipients must also accept (RFC 9110 §5.6.7).
    public static func parse(_ text: String) -> Int? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var v = 0
            for i in range {
                let c = b[i] == 0x20 ? 0x30 : b[i]  // asctime pads the day with a space
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        func month(_ at: Int) -> Int? {
            guard at + 3 <= b.count else { return nil }
            return months.firstIndex(of: String(decoding: b[at..<at + 3], as: UTF8.self))
        }
        func clock(_ at: Int) -> (Int, Int, Int)? {
            guard at + 8 <= b.count, b[at + 2] == 0x3A, b[at + 5] == 0x3A, let h = number(at..<at + 2),
                let m = number(at + 3..<at + 5), let s = number(at + 6..<at + 8), h < 24, m < 60, s < 61
            else { return nil }
            return (h, m, s)
        }
        var day: Int?
        var mon: Int?
        var year: Int?
        var time: (Int, Int, Int)?
        if isValid(text) {
            (day, mon, year, time) = (number(5..<7), month(8), number(12..<16), clock(17))
        } else if let comma = b.firstIndex(of: 0x2C), comma > 3, b.count == comma + 24, b[comma + 1] == 0x20,
            b[comma + 4] == 0x2D, b[comma + 8] == 0x2D, b[comma + 11] == 0x20, text.hasSuffix(" GMT")
        {
            let d = comma + 2
            day = number(d..<d + 2)
            mon = month(d + 3)
            year = number(d + 7..<d + 9).map { $0 < 70 ? 2000 + $0 : 1900 + $0 }
            time = clock(d + 10)
        } else if b.count == 24, b[3] == 0x20, b[7] == 0x20, b[10] == 0x20, b[19] == 0x20 {
            (day, mon, year, time) = (number(8..<10), month(4), number(20..<24), clock(11))
        }
        guard let day, let mon, let year, let time, (1...31).contains(day) else { return nil }
        var tm = Glibc.tm()
        tm.tm_mday = Int32(day)
        tm.tm_mon = Int32(mon)
        tm.tm_year = Int32(year - 1900)
        tm.tm_hour = Int32(time.0)
        tm.tm_min = Int32(time.1)
        tm.tm_sec = Int32(time.2)
        let t = timegm(&tm)
        return t == -1 ? nil : Int(t)
    }
}
