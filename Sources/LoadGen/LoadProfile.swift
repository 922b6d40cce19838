/// How many of the connections ("users") are active over the run. In open
/// loop, the asked rate scales with the active share.
public enum LoadProfile: Sendable, Equatable, CustomStringConvertible {
    /// Every connection for the whole run (also what `sustained` means, over a long run).
    case constant
    /// Users grow linearly from `from` to all connections over `seconds`, then hold.
    case ramp(from: Int, seconds: Double)
    /// `base` users, all connections from `at` for `length` seconds, then `base` again.
    case spike(base: Int, at: Double, length: Double)

    /// Active connections at `elapsed` seconds, out of `total`.
    public func active(at elapsed: Double, total: Int) -> Int {
        switch self {
        case .constant:
            return total
        case .ramp(let from, let seconds):
            let start = max(1, min(from, total))
            guard seconds > 0, elapsed < seconds else { return total }
            return start + Int(Double(total - start) * elapsed / seconds)
        case .spike(let base, let at, let length):
            let low = max(1, min(base, total))
            return elapsed >= at && elapsed < at + length ? total : low
        }
    }

    public var description: String {
        switch self {
        case .constant: return "constant"
        case .ramp(let from, let seconds): return "ramp from \(from) over \(seconds) s"
        case .spike(let base, let at, let length): return "spike from \(base) at \(at) s for \(length) s"
        }
    }
}
