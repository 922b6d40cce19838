#if canImport(Glibc)
    import Glibc
#endif

/// IMF-fixdate (RFC 9110 §5.6.7), the form every `Date` header must use:
///
///     IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT
///     ; e.g. Sun, 06 Nov 1994 08:49:37 GMT
///
/// Formatted by hand: `DateFormatter` would pull ICU into the binary.
public enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func format(epochSeconds: Int) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    public static func now() -> String {
        format(epochSeconds: Int(time(nil)))
    }

    /// True when `text` is a well-formed IMF-fixdate.
    public static func isValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 29 else { return false }
        let s = text
        guard days.contains(String(s.prefix(3))), b[3] == UInt8(ascii: ","), b[4] == 0x20,
            b[7] == 0x20, b[11] == 0x20, b[16] == 0x20, b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"),
            b[25] == 0x20, s.hasSuffix("GMT")
        else { return false }
        let month = String(decoding: b[8..<11], as: UTF8.self)
        guard months.contains(month) else { return false }
        let digitPositions = [5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24]
        return digitPositions.allSatisfy { b[$0] >= 0x30 && b[$0] <= 0x39 }
    }

    /// A per-thread cache that formats at most once per second.
    public struct Cache {
        private var second = -1
        private var value = ""

        public init() {}

        public mutating func current() -> String {
            let now = Int(time(nil))
            if now != second {
                second = now
                value = HTTPDate.format(epochSeconds: now)
            }
            return value
        }
    }
}
