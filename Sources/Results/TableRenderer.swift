/// The terminal table: one row per server and workload, medians with the
/// spread of throughput, then what kept any server from being measured.
public enum TableRenderer {
    /// ANSI styles, used only when the caller says the output is a terminal that wants colour.
    enum Style: String {
        case best = "\u{1B}[1;32m"
        case dim = "\u{1B}[2m"
        case bad = "\u{1B}[31m"
        case warn = "\u{1B}[1;33m"
        static let reset = "\u{1B}[0m"
    }

    public static func render(_ document: RunDocument, colour: Bool = false) -> String {
        var styles: [Int: [Int: Style]] = [:]
        func paint(_ text: String, _ style: Style) -> String { colour ? style.rawValue + text + Style.reset : text }
        var rows: [[String]] = [
            [
                "server", "suite", "workload", "protocol", "mode", "req/s", "±", "p50 µs", "p99 µs", "allocs/req",
                "bytes/req", "CPU µs/req", "mem MiB", "errors", "wrong",
            ]
        ]
        var best: [String: Double] = [:]
        func key(_ m: MeasurementRecord) -> String { "\(m.suite)/\(m.workload)/\(m.protocolName)/\(m.mode)" }
        var notApplicable: [String] = []
        var failed: [String] = []
        for m in document.measurements {
            if let r = m.median?.rps { best[key(m)] = max(best[key(m)] ?? 0, r) }
        }
        // Open-loop requests never sent, summed over the repetitions: a column only when some row has any.
        func unsent(_ m: MeasurementRecord) -> UInt64 { m.repetitions.reduce(0) { $0 + ($1.unsentRequests ?? 0) } }
        let showUnsent = document.measurements.contains { unsent($0) > 0 }
        if showUnsent { rows[0].append("unsent") }
        for m in document.measurements {
            if let reason = m.notApplicable {
                let blank = [String](repeating: "", count: rows[0].count - 6)
                rows.append([m.server, m.suite, m.workload, m.protocolName, m.mode, "n/a"] + blank)
                styles[rows.count - 1] = Dictionary(uniqueKeysWithValues: (0..<rows[0].count).map { ($0, Style.dim) })
                if !notApplicable.contains(reason) { notApplicable.append(reason) }
                continue
            }
            if let failure = m.failure {
                rows.append([
                    m.server, m.suite, m.workload, m.protocolName, m.mode, "FAILED", "", "", "", "", "", "", "", "", "",
                ])
                styles[rows.count - 1] = [5: .bad]
                failed.append("\(m.server) \(m.suite)/\(m.workload) \(m.protocolName) \(m.mode): \(failure)")
                continue
            }
            guard let s = m.median else { continue }
            let spread = s.rps > 0 ? (s.rpsMax - s.rpsMin) / 2 / s.rps * 100 : 0
            let isBest = best[key(m)] == s.rps && document.measurements.filter { key($0) == key(m) }.count > 1
            var row: [String] = [
                m.server, m.suite, m.workload, m.protocolName, m.mode,
                format(s.rps, decimals: 0) + (s.loadBound ? " ‡" : "") + (isBest ? " *" : ""),
                format(spread, decimals: 1) + "%",
                format(s.latencyUs.p50, decimals: 1),
                format(s.latencyUs.p99, decimals: 1),
                s.allocationsPerRequest.map { format($0, decimals: 2) } ?? "n/a",
                s.bytesPerRequest.map { format($0, decimals: 0) } ?? "n/a",
                s.serverCpuUsPerRequest.map { format($0, decimals: 2) } ?? "n/a",
                s.memoryBytes.map { format($0 / 1_048_576, decimals: 1) } ?? "n/a",
                String(s.errors),
                String(s.wrongAnswers),
            ]
            if showUnsent { row.append(String(unsent(m))) }
            rows.append(row)
            if isBest { styles[rows.count - 1, default: [:]][5] = .best }
            if s.errors > 0 { styles[rows.count - 1, default: [:]][13] = .bad }
            if s.wrongAnswers > 0 { styles[rows.count - 1, default: [:]][14] = .bad }
            if showUnsent && unsent(m) > 0 { styles[rows.count - 1, default: [:]][15] = .bad }
        }
        var out = align(rows, styles: colour ? styles : [:])
        if rows.count > 1 {
            out +=
                "* best throughput for the workload; medians of \(document.settings.repetitions) repetitions, ± is half the min–max spread\n"
        }
        if document.measurements.contains(where: { $0.median?.loadBound == true }) {
            out +=
                "‡ the load generator was busy ≥ 90% of the time: the server may be faster than shown (add load threads and CPUs)\n"
        }
        if showUnsent {
            out +=
                "unsent: open-loop requests due before the end that were never sent, every connection busy with"
                + " late answers (summed over the repetitions; their wait to the end is in the latency)\n"
        }
        if document.measurements.contains(where: { $0.median?.memoryBytes != nil }) {
            out +=
                "memory: PSS (proportional set size: a page shared by a server's processes counted once) where the kernel reports it, else RSS; an external server's processes at their peak under load; an embedded stack shares catbench's process with the load generator, and the whole process is shown\n"
        }
        for reason in notApplicable { out += "n/a: \(reason)\n" }
        for line in failed { out += paint("FAILED", .bad) + " \(line)\n" }
        if !document.figures.isEmpty {
            var figureRows: [[String]] = [["server", "suite", "protocol", "figure", "value"]]
            for f in document.figures {
                figureRows.append([
                    f.server, f.suite, f.protocolName, f.name,
                    format(f.value, decimals: f.unit == "%" ? 1 : 2) + " " + f.unit,
                ])
            }
            out += "\n" + align(figureRows, textColumns: 4)
        }
        for server in document.servers {
            if server.status == .verified {
                out +=
                    "\(server.name): verified — "
                    + server.verification.map { "\($0.suite) (\($0.checksRun) checks)" }
                    .joined(separator: ", ") + "\n"
            } else if server.status != .measured {
                out += paint("\(server.name): not measured — \(server.status.rawValue.replacingUnderscores())", .bad)
                if let error = server.error { out += ": \(error)" }
                out += "\n"
                if let tail = server.logTail, !tail.isEmpty {
                    out += "  last lines of its log\(server.logPath.map { " (\($0))" } ?? ""):\n"
                    out += tail.split(separator: "\n", omittingEmptySubsequences: false).suffix(10).map {
                        "  | \($0)\n"
                    }.joined()
                }
                for v in server.verification {
                    if let failed = v.failedWorkloads {
                        out += "  \(v.suite): not measured on \(failed.joined(separator: ", "))\n"
                    }
                    for f in v.failures.prefix(5) { out += "  FAIL \(v.suite) · \(f.check): \(f.message)\n" }
                    if v.failures.count > 5 { out += "  … and \(v.failures.count - 5) more failures\n" }
                }
            }
            for v in server.verification where !v.warnings.isEmpty {
                out +=
                    "\(server.name) warnings (\(v.suite)): " + v.warnings.map(\.message).joined(separator: "; ") + "\n"
            }
        }
        if document.partial {
            out += paint("PARTIAL RESULTS: \(document.partialReason ?? "run interrupted")", .warn) + "\n"
        }
        return out
    }

    /// Aligned rows with a rule under the first; the first `textColumns` align left.
    public static func plain(_ rows: [[String]], textColumns: Int) -> String { align(rows, textColumns: textColumns) }

    /// `styles[row][column]` colours a cell after padding, so colour never shifts the columns.
    static func align(_ rows: [[String]], textColumns: Int = 5, styles: [Int: [Int: Style]] = [:]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for (r, row) in rows.enumerated() {
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                // Text columns align left, figures right.
                let styled = styles[r]?[i].map { $0.rawValue + cell + Style.reset } ?? cell
                line += i < textColumns ? styled + pad : pad + styled
                if i < row.count - 1 { line += "  " }
            }
            out += line + "\n"
            if r == 0 { out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n" }
        }
        return out
    }

    /// A whole number with thousands separators (`181,265`).
    public static func thousands(_ value: Double) -> String {
        let digits = format(value, decimals: 0)
        guard digits.allSatisfy(\.isNumber), digits.count > 3 else { return digits }
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    /// Fixed decimals without Foundation's formatters (which would pull ICU in).
    public static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "—" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let integer = Int(rounded / scale)
        var text = (value < 0 && rounded > 0 ? "-" : "") + String(integer)
        if decimals > 0 {
            let fraction = Int(rounded) - integer * Int(scale)
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}
