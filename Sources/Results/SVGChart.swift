/// Inline SVG charts for the HTML report: grouped bars and lines drawn from
/// plain numbers, with no scripts and no reference outside the page. Every
/// coordinate passes through `ChartScale` and `SVGChart.coordinate`, so no
/// input (empty, single point, all equal, ≤ 0 on a log axis) yields NaN or ∞.

/// A coordinate as SVG text (see `SVGChart.coordinate`).
private func coord(_ value: Double) -> String { SVGChart.coordinate(value) }

/// A named series and how it is drawn.
struct ChartSeries {
    var name: String
    var colour: String
    /// A dash pattern for lines once the palette has gone round once.
    var dash: String? = nil
}

/// An axis: its title (which names the unit), its scale, and optionally fixed ticks.
struct ChartAxis {
    enum Kind { case linear, log10 }

    var title: String
    var kind: Kind = .linear
    /// Linear axes: stretch the range to include zero.
    var includesZero = false
    /// Replaces the computed ticks.
    var ticks: [ChartTick]? = nil
}

/// A mark on an axis: a value in data units and its label.
struct ChartTick {
    var value: Double
    var label: String
}

/// One bar: a value and, optionally, the range it varied over.
struct BarValue {
    var value: Double
    var low: Double? = nil
    var high: Double? = nil
}

/// Bars grouped by category, one bar per series; a missing value draws "n/a".
struct BarChart {
    var title: String
    var categories: [String]
    var series: [ChartSeries]
    /// `values[series][category]`.
    var values: [[BarValue?]]
    var valueAxis: ChartAxis
    var categoryAxisTitle: String
    var unit: String

    func svg() -> String {
        let groupWidth = max(36, Double(series.count) * 14 + 16)
        let width = max(SVGChart.width, SVGChart.left + SVGChart.right + groupWidth * Double(categories.count))
        var all: [Double] = []
        for row in values {
            for bar in row.compactMap({ $0 }) { all += [bar.value] + [bar.low, bar.high].compactMap { $0 } }
        }
        let scale = ChartScale(axis: valueAxis, values: all)
        let plot = SVGChart.Plot(
            x: SVGChart.left, y: SVGChart.top, width: width - SVGChart.left - SVGChart.right,
            height: SVGChart.plotHeight)
        var body = SVGChart.valueAxis(scale, title: valueAxis.title, plot: plot)
        let slot = categories.isEmpty ? plot.width : plot.width / Double(categories.count)
        let barWidth = series.isEmpty ? 0 : slot * 0.8 / Double(series.count)
        let base = plot.yPosition(min(max(scale.fraction(scale.kind == .linear ? 0 : scale.lowValue) ?? 0, 0), 1))
        for (c, category) in categories.enumerated() {
            let groupLeft = plot.x + slot * Double(c) + slot * 0.1
            body += SVGChart.categoryLabel(
                category, centre: plot.x + slot * (Double(c) + 0.5), y: plot.bottom + 14, room: slot)
            for (s, item) in series.enumerated() {
                let x = groupLeft + barWidth * Double(s)
                let centre = x + barWidth / 2
                let bar = s < values.count && c < values[s].count ? values[s][c] : nil
                guard let bar, let f = scale.fraction(bar.value) else {
                    let (labelX, labelY) = (coord(centre + 3), coord(plot.bottom - 4))
                    body +=
                        "<text class=\"na\" transform=\"rotate(-90 \(labelX) \(labelY))\" x=\"\(labelX)\" y=\"\(labelY)\">n/a</text>"
                    continue
                }
                let top = plot.yPosition(f)
                let label = "\(item.name) — \(category): \(SVGChart.number(bar.value)) \(unit)"
                body +=
                    "<rect x=\"\(coord(x))\" y=\"\(coord(min(top, base)))\" width=\"\(coord(max(barWidth - 1, 0.5)))\""
                    + " height=\"\(coord(abs(base - top)))\" fill=\"\(item.colour)\"><title>\(label.htmlEscaped)</title></rect>"
                if let low = bar.low, let high = bar.high, let fl = scale.fraction(low), let fh = scale.fraction(high),
                    high > low
                {
                    let cap = min(barWidth * 0.2, 4)
                    let (yLow, yHigh) = (coord(plot.yPosition(fl)), coord(plot.yPosition(fh)))
                    let (mid, capLeft, capRight) = (coord(centre), coord(centre - cap), coord(centre + cap))
                    body +=
                        "<path class=\"whisker\" d=\"M\(mid) \(yLow)V\(yHigh)M\(capLeft) \(yLow)H\(capRight)M\(capLeft) \(yHigh)H\(capRight)\"/>"
                }
            }
        }
        if scale.isEmpty { body += SVGChart.noData(plot) }
        body += SVGChart.axisTitle(categoryAxisTitle, plot: plot)
        return SVGChart.frame(title: title, width: width, plot: plot, series: series, body: body)
    }
}

/// Several series of (x, y) points, each axis linear or logarithmic.
struct LineChart {
    struct Line {
        var series: ChartSeries
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var lines: [Line]
    var xAxis: ChartAxis
    var yAxis: ChartAxis

    func svg() -> String {
        let xScale = ChartScale(axis: xAxis, values: lines.flatMap { $0.points.map { $0.x } })
        let yScale = ChartScale(axis: yAxis, values: lines.flatMap { $0.points.map { $0.y } })
        let plot = SVGChart.Plot(
            x: SVGChart.left, y: SVGChart.top, width: SVGChart.width - SVGChart.left - SVGChart.right,
            height: SVGChart.plotHeight)
        var body = SVGChart.valueAxis(yScale, title: yAxis.title, plot: plot)
        for tick in xScale.ticks {
            guard let f = xScale.fraction(tick.value) else { continue }
            let x = coord(plot.x + f * plot.width)
            body += "<path class=\"grid\" d=\"M\(x) \(coord(plot.y))V\(coord(plot.bottom))\"/>"
            body +=
                "<text class=\"tick\" x=\"\(x)\" y=\"\(coord(plot.bottom + 14))\" text-anchor=\"middle\">\(tick.label.htmlEscaped)</text>"
        }
        var drawn = 0
        for line in lines {
            let placed = line.points
                .compactMap { p -> (x: Double, y: Double)? in
                    guard let fx = xScale.fraction(p.x), let fy = yScale.fraction(p.y) else { return nil }
                    return (x: plot.x + fx * plot.width, y: plot.yPosition(fy))
                }
                .sorted { $0.x < $1.x }
            guard !placed.isEmpty else { continue }
            drawn += 1
            let path = placed.enumerated().map {
                ($0.offset == 0 ? "M" : "L") + coord($0.element.x) + " " + coord($0.element.y)
            }.joined()
            let dash = line.series.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            body += "<g><title>\(line.series.name.htmlEscaped)</title>"
            if placed.count > 1 {
                body += "<path class=\"line\" d=\"\(path)\" stroke=\"\(line.series.colour)\"\(dash)/>"
            }
            if placed.count <= 40 {
                for p in placed {
                    body +=
                        "<circle cx=\"\(coord(p.x))\" cy=\"\(coord(p.y))\" r=\"2.5\" fill=\"\(line.series.colour)\"/>"
                }
            }
            body += "</g>"
        }
        if drawn == 0 { body += SVGChart.noData(plot) }
        body += SVGChart.axisTitle(xAxis.title, plot: plot)
        return SVGChart.frame(title: title, width: SVGChart.width, plot: plot, series: lines.map(\.series), body: body)
    }
}

/// The pieces every chart shares: frame, title, value axis, legend.
enum SVGChart {
    static let width = 520.0
    static let left = 70.0
    static let right = 30.0
    static let top = 40.0
    static let plotHeight = 200.0
    /// Rough width of a character of the 11px sans-serif used for labels.
    static let characterWidth = 6.2

    struct Plot {
        var x, y, width, height: Double
        var bottom: Double { y + height }
        /// Fraction 0 (bottom) … 1 (top) to a y coordinate.
        func yPosition(_ fraction: Double) -> Double { bottom - fraction * height }
    }

    /// A coordinate as SVG text: finite, bounded, one decimal.
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return TableRenderer.format(min(max(value, -100_000), 100_000), decimals: 1)
    }

    /// A value for a label: fewer decimals as it grows.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if abs(value) >= 1e14 { return "\(value)" }
        return TableRenderer.format(value, decimals: abs(value) >= 100 ? 0 : abs(value) >= 1 ? 2 : 3)
    }

    static func frame(title: String, width: Double, plot: Plot, series: [ChartSeries], body: String) -> String {
        let legend = self.legend(series, top: plot.bottom + 52, width: width)
        let height = plot.bottom + 52 + legend.height
        let w = coordinate(width)
        let h = coordinate(height)
        let squeeze =
            Double(title.count) * 7.4 > width - 20
            ? " textLength=\"\(coordinate(width - 20))\" lengthAdjust=\"spacingAndGlyphs\"" : ""
        return
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 \(w) \(h)\" width=\"\(w)\" height=\"\(h)\">"
            + "<title>\(title.htmlEscaped)</title>"
            + "<text class=\"chart-title\" x=\"\(coordinate(width / 2))\" y=\"20\" text-anchor=\"middle\"\(squeeze)>\(title.htmlEscaped)</text>"
            + body + legend.svg + "</svg>"
    }

    /// Grid lines, tick labels and the rotated title of the vertical axis.
    static func valueAxis(_ scale: ChartScale, title: String, plot: Plot) -> String {
        var out = ""
        for tick in scale.ticks {
            guard let f = scale.fraction(tick.value) else { continue }
            let y = coordinate(plot.yPosition(f))
            out += "<path class=\"grid\" d=\"M\(coordinate(plot.x)) \(y)H\(coordinate(plot.x + plot.width))\"/>"
            out +=
                "<text class=\"tick\" x=\"\(coordinate(plot.x - 6))\" y=\"\(y)\" dy=\"0.32em\" text-anchor=\"end\">\(tick.label.htmlEscaped)</text>"
        }
        out +=
            "<path class=\"axis\" d=\"M\(coordinate(plot.x)) \(coordinate(plot.y))V\(coordinate(plot.bottom))H\(coordinate(plot.x + plot.width))\"/>"
        let cx = coordinate(16)
        let cy = coordinate(plot.y + plot.height / 2)
        out +=
            "<text class=\"axis-title\" transform=\"rotate(-90 \(cx) \(cy))\" x=\"\(cx)\" y=\"\(cy)\" text-anchor=\"middle\">\(title.htmlEscaped)</text>"
        return out
    }

    static func axisTitle(_ title: String, plot: Plot) -> String {
        "<text class=\"axis-title\" x=\"\(coordinate(plot.x + plot.width / 2))\" y=\"\(coordinate(plot.bottom + 32))\" text-anchor=\"middle\">\(title.htmlEscaped)</text>"
    }

    /// A category name, shortened to the room it has; the full name stays as a tooltip.
    static func categoryLabel(_ name: String, centre: Double, y: Double, room: Double) -> String {
        let fits = max(Int(room / characterWidth), 3)
        let shown = name.count > fits ? String(name.prefix(fits - 1)) + "…" : name
        return
            "<text class=\"tick\" x=\"\(coordinate(centre))\" y=\"\(coordinate(y))\" text-anchor=\"middle\"><title>\(name.htmlEscaped)</title>\(shown.htmlEscaped)</text>"
    }

    static func noData(_ plot: Plot) -> String {
        "<text class=\"note\" x=\"\(coordinate(plot.x + plot.width / 2))\" y=\"\(coordinate(plot.y + plot.height / 2))\" text-anchor=\"middle\">no data</text>"
    }

    /// Colour swatches and names, wrapped into rows that fit the width.
    static func legend(_ series: [ChartSeries], top: Double, width: Double) -> (svg: String, height: Double) {
        guard !series.isEmpty else { return ("", 0) }
        var out = "<g class=\"legend\">"
        var x = left
        var row = 0.0
        for item in series {
            let itemWidth = 18 + Double(item.name.count) * characterWidth + 14
            if x + itemWidth > width - right && x > left {
                x = left
                row += 1
            }
            let y = top + row * 16
            let dash = item.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            out +=
                "<path d=\"M\(coordinate(x)) \(coordinate(y))h12\" stroke=\"\(item.colour)\" stroke-width=\"8\"\(dash)/>"
            out +=
                "<text x=\"\(coordinate(x + 16))\" y=\"\(coordinate(y))\" dy=\"0.32em\">\(item.name.htmlEscaped)</text>"
            x += itemWidth
        }
        return (out + "</g>", (row + 1) * 16)
    }
}

/// Maps data values to 0…1 along an axis and chooses its ticks: 1, 2, 5 × 10^k
/// on a linear axis, whole decades on a log axis.
struct ChartScale {
    let kind: ChartAxis.Kind
    /// The ends of the axis in plotted units (log10 of the value on a log axis).
    let low: Double
    let high: Double
    let ticks: [ChartTick]
    /// True when no value could be placed on the axis.
    let isEmpty: Bool

    init(axis: ChartAxis, values: [Double]) {
        kind = axis.kind
        let usable = values.filter { $0.isFinite && (axis.kind == .linear || $0 > 0) }.map { min(max($0, -1e12), 1e12) }
        isEmpty = usable.isEmpty
        switch axis.kind {
        case .log10:
            let logs = usable.map(Self.log10)
            var lo = ((logs.min() ?? 0) + 1e-9).rounded(.down)
            var hi = ((logs.max() ?? 1) - 1e-9).rounded(.up)
            if hi <= lo { hi = lo + 1 }
            lo = max(lo, -12)
            hi = min(max(hi, lo + 1), 13)
            low = lo
            high = hi
            let step = max(1, Int(((hi - lo) / 6).rounded(.up)))
            ticks =
                axis.ticks
                ?? stride(from: Int(lo), through: Int(hi), by: step).map {
                    ChartTick(value: Self.power10($0), label: Self.decadeLabel($0))
                }
        case .linear:
            let fixed = axis.ticks?.map { $0.value }.filter { $0.isFinite } ?? []
            var lo = (usable + fixed).min() ?? 0
            var hi = (usable + fixed).max() ?? 1
            if axis.includesZero { (lo, hi) = (min(lo, 0), max(hi, 0)) }
            if hi - lo < 1e-9 * max(1, abs(lo)) {
                let pad = abs(lo) > 1e-9 ? abs(lo) * 0.1 : 1
                (lo, hi) = (axis.includesZero && lo >= 0 ? 0 : lo - pad, hi + pad)
            }
            if let given = axis.ticks {
                low = lo
                high = hi
                ticks = given
            } else {
                let exponent = Self.floorLog10((hi - lo) / 5)
                let base = Self.power10(exponent)
                let raw = (hi - lo) / 5 / base
                let step = (raw <= 1 ? 1 : raw <= 2 ? 2 : raw <= 5 ? 5 : 10) * base
                lo = (lo / step).rounded(.down) * step
                hi = (hi / step).rounded(.up) * step
                low = lo
                high = hi
                let largest = max(abs(lo), abs(hi))
                let (divisor, suffix, shift) =
                    largest >= 10_000_000 ? (1e6, "M", 6) : largest >= 10_000 ? (1e3, "k", 3) : (1.0, "", 0)
                let decimals = max(0, shift - exponent - (raw > 5 ? 1 : 0))
                var marks: [ChartTick] = []
                var v = lo
                while v <= hi + step / 2 && marks.count < 25 {
                    let value = abs(v) < step / 1e6 ? 0 : v
                    let label = value == 0 ? "0" : TableRenderer.format(value / divisor, decimals: decimals) + suffix
                    marks.append(ChartTick(value: value, label: label))
                    v += step
                }
                ticks = marks
            }
        }
    }

    var lowValue: Double { kind == .log10 ? Self.power10(Int(low)) : low }

    /// Where a value falls between the ends (0…1), or nil when it cannot be placed.
    func fraction(_ value: Double) -> Double? {
        guard value.isFinite, kind == .linear || value > 0 else { return nil }
        let v = kind == .log10 ? Self.log10(value) : value
        let f = (v - low) / (high - low)
        return f.isFinite ? min(max(f, -0.05), 1.05) : nil
    }

    static func decadeLabel(_ k: Int) -> String {
        switch k {
        case -4 ... -1: return "0." + String(repeating: "0", count: -k - 1) + "1"
        case 0...2: return "1" + String(repeating: "0", count: k)
        case 3...5: return "1" + String(repeating: "0", count: k - 3) + "k"
        case 6...8: return "1" + String(repeating: "0", count: k - 6) + "M"
        default: return "1e\(k)"
        }
    }

    static func power10(_ k: Int) -> Double {
        var value = 1.0
        for _ in 0..<min(abs(k), 300) { value = k < 0 ? value / 10 : value * 10 }
        return value
    }

    static func floorLog10(_ x: Double) -> Int {
        guard x.isFinite, x > 0 else { return 0 }
        return Int((log10(x) + 1e-12).rounded(.down))
    }

    /// log10 in plain Swift (the standard library has none, and Foundation
    /// is kept out of this module): x = m · 2^e, ln m = 2·atanh((m−1)/(m+1)).
    static func log10(_ x: Double) -> Double {
        guard x.isFinite, x > 0 else { return 0 }
        let m = x.significand
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var k = 1.0
        while k < 40 {
            sum += term / k
            term *= z2
            k += 2
        }
        return (2 * sum + Double(x.exponent) * 0.693_147_180_559_945_3) / 2.302_585_092_994_046
    }
}
