/// The run as Markdown, one table per feature category in the shape of the
/// plan's report ("Framework | Requests/sec | Memory (MB) | Avg Latency (ms) |
/// Middleware Overhead"), ready to paste into a pull request.
public enum MarkdownReport {
    public static func render(_ document: RunDocument) -> String {
        var out = "# catbench results\n\n"
        out += header(document) + "\n"
        if document.partial {
            out += "\n> **Partial results:** \(escape(document.partialReason ?? "the run was interrupted"))\n"
        }
        let suites = ReportOrder.suites(document)
        if suites.isEmpty { out += "\nNo measurements.\n" }
        for suite in suites {
            out += "\n## \(suite)\n\n" + suiteTable(document, suite: suite)
        }
        out += notes(document)
        return out
    }

    static func header(_ d: RunDocument) -> String {
        let m = d.machine
        let s = d.settings
        var text = "catbench \(d.catbench.version)" + (d.catbench.commit.map { " (\($0.prefix(12)))" } ?? "")
        text += ", \(d.startedAt) · \(m.cpuModel), \(m.logicalCpus) CPUs, \(m.kernel), "
        text += TableRenderer.format(Double(m.memoryBytes) / 1_073_741_824, decimals: 1) + " GiB"
        text += " · medians of \(s.repetitions) × \(TableRenderer.format(s.durationSeconds, decimals: 1)) s"
        text +=
            ", \(s.workers) worker\(s.workers == 1 ? "" : "s") per server, \(s.loadThreads) load thread\(s.loadThreads == 1 ? "" : "s")"
        return escape(text)
    }

    static func suiteTable(_ d: RunDocument, suite: String) -> String {
        // Grouped by workload, then the way it was loaded, servers in run order within each:
        // the rows a reader compares sit together.
        let unsorted = d.measurements.filter { $0.suite == suite }
        var workloadOrder: [String] = []
        var wayOrder: [String] = []
        for m in unsorted {
            if !workloadOrder.contains(m.workload) { workloadOrder.append(m.workload) }
            if !wayOrder.contains("\(m.protocolName) \(m.mode)") { wayOrder.append("\(m.protocolName) \(m.mode)") }
        }
        let rows = unsorted.enumerated().sorted { a, b in
            let ka = (
                workloadOrder.firstIndex(of: a.element.workload)!,
                wayOrder.firstIndex(of: "\(a.element.protocolName) \(a.element.mode)")!, a.offset
            )
            let kb = (
                workloadOrder.firstIndex(of: b.element.workload)!,
                wayOrder.firstIndex(of: "\(b.element.protocolName) \(b.element.mode)")!, b.offset
            )
            return ka < kb
        }.map(\.element)
        // The mode column appears only when a suite was measured more than one way.
        let ways = Set(rows.map { "\($0.protocolName) \($0.mode)" })
        let showWay = ways.count > 1
        let baseline = d.suites?.first { $0.name == suite }.flatMap { r in
            r.baselineWorkload.map { ($0, r.baselineColumn ?? "Overhead") }
        }
        var header =
            ["Workload"] + (showWay ? ["Protocol, mode"] : []) + [
                "Framework", "Requests/sec", "±", "Memory (MB)",
                "Avg Latency (ms)", "p99 Latency (ms)", "CPU µs/req", "Allocs/req",
            ]
        if let baseline { header.append(baseline.1) }
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out +=
            "|"
            + header.map { ["Workload", "Protocol, mode", "Framework"].contains($0) ? " --- |" : " ---: |" }.joined()
            + "\n"
        var best: [String: Double] = [:]
        for m in rows { if let r = m.median?.rps { best[groupKey(m)] = max(best[groupKey(m)] ?? 0, r) } }
        for m in rows {
            var cells = [m.workload] + (showWay ? ["\(m.protocolName) \(m.mode)"] : []) + [m.server]
            if let reason = m.notApplicable {
                cells += ["n/a"] + [String](repeating: "", count: 6)
                if baseline != nil { cells.append("") }
                cells[cells.count - 1] = "n/a: " + reason
                out += "| " + cells.map(escape).joined(separator: " | ") + " |\n"
                continue
            }
            if let failure = m.failure {
                cells += ["FAILED"] + [String](repeating: "", count: 6)
                if baseline != nil { cells.append("") }
                cells[cells.count - 1] = "failed: " + failure
                out += "| " + cells.map(escape).joined(separator: " | ") + " |\n"
                continue
            }
            guard let s = m.median else { continue }
            let rps = TableRenderer.thousands(s.rps)
            let spread = s.rps > 0 ? (s.rpsMax - s.rpsMin) / 2 / s.rps * 100 : 0
            let isBest = best[groupKey(m)] == s.rps && rows.filter { groupKey($0) == groupKey(m) }.count > 1
            cells += [
                (isBest ? "**\(rps)**" : rps) + (s.loadBound ? " ‡" : ""),
                TableRenderer.format(spread, decimals: 1) + "%",
                s.memoryBytes.map { TableRenderer.format($0 / 1_000_000, decimals: 1) } ?? "n/a",
                TableRenderer.format(s.latencyUs.mean / 1000, decimals: 3),
                TableRenderer.format(s.latencyUs.p99 / 1000, decimals: 3),
                s.serverCpuUsPerRequest.map { TableRenderer.format($0, decimals: 1) } ?? "n/a",
                s.allocationsPerRequest.map { TableRenderer.format($0, decimals: 1) } ?? "n/a",
            ]
            if let baseline { cells.append(overhead(m, baseline: baseline.0, rows: rows)) }
            out += "| " + cells.map { $0.hasPrefix("**") ? $0 : escape($0) }.joined(separator: " | ") + " |\n"
        }
        return out + serviceTable(rows, showWay: showWay)
    }

    /// The same rows as the database saw them (its own statistics), when a service watched them.
    static func serviceTable(_ rows: [MeasurementRecord], showWay: Bool) -> String {
        let watched = rows.filter { $0.failure == nil && $0.median?.serviceFigures != nil }
        guard !watched.isEmpty else { return "" }
        let columns: [(String, String, Int)] = [
            ("Queries/req", "db_queries_per_request", 2), ("Queries/sec", "db_queries_per_s", 0),
            ("Query µs", "db_query_us", 1), ("DB CPU µs/req", "db_cpu_us_per_request", 1),
            ("Connections", "db_connections_peak", 0), ("Pool busy", "db_pool_busy", 2),
            ("Pool leased", "db_pool_leased", 2), ("Pool wait µs/req", "db_pool_wait_us_per_request", 1),
            ("DB memory (MB)", "db_memory_mib", 1), ("Memory/conn (MB)", "db_memory_per_connection_mib", 2),
        ]
        let header = ["Workload"] + (showWay ? ["Protocol, mode"] : []) + ["Framework"] + columns.map(\.0)
        var out = "\nAs the database saw them (its own statistics, read around each repetition):\n\n"
        out += "| " + header.joined(separator: " | ") + " |\n|"
        out +=
            header.map { ["Workload", "Protocol, mode", "Framework"].contains($0) ? " --- |" : " ---: |" }.joined()
            + "\n"
        for m in watched {
            let figures = m.median?.serviceFigures ?? [:]
            var cells = [m.workload] + (showWay ? ["\(m.protocolName) \(m.mode)"] : []) + [m.server]
            for (_, key, decimals) in columns {
                guard let value = figures[key] else {
                    cells.append("n/a")
                    continue
                }
                let scaled = key.hasPrefix("db_memory") ? value * 1_048_576 / 1_000_000 : value
                cells.append(
                    key == "db_queries_per_s"
                        ? TableRenderer.thousands(scaled) : TableRenderer.format(scaled, decimals: decimals))
            }
            out += "| " + cells.map(escape).joined(separator: " | ") + " |\n"
        }
        return out
    }

    /// Throughput lost against the same server's baseline workload (the
    /// suite declares it: the bare endpoint of the middleware suite), measured the same way.
    static func overhead(_ m: MeasurementRecord, baseline: String, rows: [MeasurementRecord]) -> String {
        guard m.workload != baseline, let s = m.median,
            let bare = rows.first(where: {
                $0.workload == baseline && $0.server == m.server && $0.protocolName == m.protocolName
                    && $0.mode == m.mode
            })?.median,
            bare.rps > 0
        else { return m.workload == baseline ? "baseline" : "" }
        let lost = (1 - s.rps / bare.rps) * 100
        return (lost >= 0 ? "−" : "+") + TableRenderer.format(abs(lost), decimals: 1) + "% req/s"
    }

    static func groupKey(_ m: MeasurementRecord) -> String { "\(m.suite)/\(m.workload)/\(m.protocolName)/\(m.mode)" }

    static func notes(_ d: RunDocument) -> String {
        var out = "\n"
        out += "Bold: best throughput for the workload. ± is half the min–max spread of the repetitions. "
        out +=
            "Memory in MB (10⁶ bytes): the proportional set size (PSS: a page shared by a server's processes counted once) where the kernel reports it, else the resident set — an external server's processes at their peak under load; "
        out += "an embedded stack shares catbench's process with the load generator, and the whole process is shown. "
        out += "Allocations are counted for the embedded stacks only (jemalloc arenas).\n"
        if d.measurements.contains(where: { $0.median?.loadBound == true }) {
            out += "\n‡ the load generator was busy ≥ 90% of the time: the server may be faster than shown.\n"
        }
        let failed = d.servers.filter { $0.status != .measured }
        if !failed.isEmpty {
            out += "\n**Not measured:**\n\n"
            for s in failed {
                out +=
                    "- \(escape(s.name)): \(s.status.rawValue.replacingUnderscores())\(s.error.map { " — " + escape($0) } ?? "")\n"
            }
        }
        let versions = d.servers.compactMap { s in s.configuration["version"].map { "\(s.name) \($0)" } }
        if !versions.isEmpty { out += "\nVersions: " + escape(versions.joined(separator: ", ")) + "\n" }
        return out
    }

    /// Text safe inside a Markdown table cell.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "|": out += "\\|"
            case "\n": out += " "
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "*", "_", "`", "[", "]": out += "\\" + String(c)
            default: out.append(c)
            }
        }
        return out
    }
}

/// The order suites appear in reports: the plan's, then any others seen.
enum ReportOrder {
    static func suites(_ d: RunDocument) -> [String] {
        var order: [String] = []
        for s in d.settings.suites where !order.contains(s) && d.measurements.contains(where: { $0.suite == s }) {
            order.append(s)
        }
        for m in d.measurements where !order.contains(m.suite) { order.append(m.suite) }
        return order
    }
}
