import ArgumentParser

/// A duration on the command line: `5s`, `500ms`, `2m`, or a number of seconds.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        let text = argument.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            seconds = value * scale
            return
        }
        guard let value = Double(text), value >= 0, value.isFinite else { return nil }
        seconds = value
    }

    var description: String { seconds.truncatingRemainder(dividingBy: 1) == 0 ? "\(Int(seconds))s" : "\(seconds)s" }
    var defaultValueDescription: String { description }
}
