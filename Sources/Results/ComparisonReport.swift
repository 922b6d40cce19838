/// A comparison as a terminal table or as Markdown for a pull-request comment.
public enum ComparisonReport {
    public enum Format: String, CaseIterable, Sendable { case table, md }

    /// Changed rows (regressions, improvements, missing, added) or, with `all`, every row.
    public static func render(_ comparison: Comparison, format: Format, all: Bool = false) -> String {
        let shown = all ? comparison.rows : comparison.rows.filter { $0.verdict != .unchanged }
        let header = ["measurement", "metric", "base", "new", "change", "base range", "new range", "verdict"]
        let cells = shown.map { row -> [String] in
            [
                row.key, row.metric, number(row.base), number(row.new),
                row.change.map { signed($0 * 100) + "%" } ?? "",
                range(row.baseRange), range(row.newRange), label(row.verdict),
            ]
        }
        let summary = summaryLine(comparison)
        switch format {
        case .table:
            var out = summary + "\n"
            if !cells.isEmpty { out += "\n" + TableRenderer.plain([header] + cells, textColumns: 2) }
            return out
        case .md:
            var out = "### catbench compare\n\n" + summary + "\n"
            if !cells.isEmpty {
                out += "\n| " + header.joined(separator: " | ") + " |\n"
                out +=
                    "|" + header.enumerated().map { $0.offset < 2 || $0.offset == 7 ? " --- |" : " ---: |" }.joined()
                    + "\n"
                for row in cells { out += "| " + row.map(MarkdownReport.escape).joined(separator: " | ") + " |\n" }
            }
            return out
        }
    }

    static func summaryLine(_ c: Comparison) -> String {
        let threshold = TableRenderer.format(c.threshold * 100, decimals: 1) + "%"
        var parts = [
            "\(c.regressions.count) regression\(c.regressions.count == 1 ? "" : "s")",
            "\(c.improvements.count) improvement\(c.improvements.count == 1 ? "" : "s")",
        ]
        if !c.missing.isEmpty { parts.append("\(c.missing.count) missing in the new run") }
        let added = c.rows.filter { $0.verdict == .added }.count
        if added > 0 { parts.append("\(added) new") }
        let compared = c.rows.filter { $0.verdict != .missing && $0.verdict != .added }.count
        return parts.joined(separator: ", ") + " over \(compared) compared figures"
            + " (a change counts beyond ±\(threshold) and outside the repetitions' range)"
    }

    static func label(_ verdict: Comparison.Verdict) -> String {
        switch verdict {
        case .regression: return "REGRESSION"
        case .improvement: return "improved"
        case .unchanged: return "within noise"
        case .missing: return "MISSING"
        case .added: return "new"
        }
    }

    static func number(_ value: Double?) -> String {
        guard let value else { return "" }
        return TableRenderer.format(value, decimals: abs(value) >= 100 ? 0 : 2)
    }

    static func signed(_ value: Double) -> String {
        (value > 0 ? "+" : "") + TableRenderer.format(value, decimals: 1)
    }

    static func range(_ r: ClosedRange<Double>?) -> String {
        guard let r else { return "" }
        return number(r.lowerBound) + "–" + number(r.upperBound)
    }
}
