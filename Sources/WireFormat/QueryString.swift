/// `application/x-www-form-urlencoded` query strings (WHATWG URL §5):
/// `name=value` pairs split on `&`, `+` is a space, `%HH` a byte.
public enum QueryString {
    /// Decoded pairs in order; malformed percent escapes are kept literally.
    public static func parse(_ query: some Collection<UInt8>) -> [(name: String, value: String)] {
        var pairs: [(String, String)] = []
        for part in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                pairs.append((decode(part[part.startIndex..<eq]), decode(part[part.index(after: eq)...])))
            } else {
                pairs.append((decode(part), ""))
            }
        }
        return pairs
    }

    /// The first value of `name`, decoded. Scans the raw bytes in place and
    /// decodes only the value it returns.
    public static func value(of name: String, in query: some Collection<UInt8>) -> String? {
        if let found = query.withContiguousStorageIfAvailable({ value(of: name, inBytes: $0) }) { return found }
        return Array(query).withUnsafeBufferPointer { value(of: name, inBytes: $0) }
    }

    private static func value(of name: String, inBytes query: UnsafeBufferPointer<UInt8>) -> String? {
        var name = name
        return name.withUTF8 { key -> String? in
            var start = 0
            while start <= query.count {
                var end = start
                while end < query.count && query[end] != UInt8(ascii: "&") { end += 1 }
                var eq = start
                while eq < end && query[eq] != UInt8(ascii: "=") { eq += 1 }
                if eq > start || end > start {
                    let field = UnsafeBufferPointer(rebasing: query[start..<eq])
                    if matches(encoded: field, key) {
                        return decode(
                            eq < end
                                ? UnsafeBufferPointer(rebasing: query[(eq + 1)..<end])
                                : UnsafeBufferPointer(rebasing: query[end..<end]))
                    }
                }
                start = end + 1
            }
            return nil
        }
    }

    /// True when the (possibly percent-encoded) field name decodes to `key`.
    private static func matches(encoded field: UnsafeBufferPointer<UInt8>, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        if field.count == key.count && !field.contains(UInt8(ascii: "%")) && !field.contains(UInt8(ascii: "+")) {
            return field.elementsEqual(key)
        }
        return Array(decode(field).utf8).elementsEqual(key)
    }

    public static func decode(_ bytes: some Collection<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ decode($0) }) { return text }
        return Array(bytes).withUnsafeBufferPointer { decode($0) }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // Most values need no decoding: make the String straight from the bytes.
        if !bytes.contains(UInt8(ascii: "%")) && !bytes.contains(UInt8(ascii: "+")) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            var n = 0
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "+") {
                    out[n] = 0x20
                } else if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]),
                    let lo = hexValue(bytes[i + 2])
                {
                    out[n] = hi << 4 | lo
                    i += 2
                } else {
                    out[n] = b
                }
                n += 1
                i += 1
            }
            return n
        }
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
    public static func encode(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
