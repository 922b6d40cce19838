/// A self-contained HTML page of a run: the machine and settings, the servers,
/// verification findings, each suite's charts and table, and the derived figures.
/// Inline CSS and SVG only: no script, no font, no reference outside the page.
public enum HTMLReport {
    /// One complete HTML5 page for the document.
    public static func render(_ document: RunDocument) -> String {
        let colours = ServerColours(document)
        var body = header(document)
        body += servers(document)
        body += verification(document)
        if document.measurements.isEmpty {
            body +=
                "<section><h2>Results</h2><p class=\"note\">There are no measurements in this document.</p></section>\n"
        } else {
            for suite in suiteOrder(document) {
                body += suiteSection(suite, document: document, colours: colours)
            }
        }
        body += figures(document)
        let title = "catbench \(document.catbench.version) — \(document.startedAt)"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title.htmlEscaped)</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    static func header(_ d: RunDocument) -> String {
        var out = "<header><h1>catbench report</h1>\n<p>catbench \(d.catbench.version.htmlEscaped)"
        out += " · commit <code>\((d.catbench.commit ?? "unknown").htmlEscaped)</code>"
        out += " · started \(d.startedAt.htmlEscaped) · finished \(d.finishedAt.htmlEscaped)</p>\n"
        if d.partial {
            out +=
                "<p class=\"banner\"><strong>Partial results:</strong> \((d.partialReason ?? "the run was interrupted").htmlEscaped)</p>\n"
        }
        let m = d.machine
        let s = d.settings
        out +=
            "<div class=\"facts\"><section><h2>Machine</h2>"
            + definitions([
                ("CPU", m.cpuModel),
                ("logical CPUs", String(m.logicalCpus)),
                ("kernel", m.kernel),
                ("memory", number(Double(m.memoryBytes) / 1_073_741_824, decimals: 1) + " GiB"),
                ("load before", loadAverages(m.loadAverageBefore)),
                ("load after", loadAverages(m.loadAverageAfter)),
            ]) + "</section>\n<section><h2>Settings</h2>"
            + definitions([
                ("suites", s.suites.joined(separator: ", ")),
                ("protocol", s.protocolName),
                ("duration", number(s.durationSeconds, decimals: 1) + " s"),
                ("warmup", number(s.warmupSeconds, decimals: 1) + " s"),
                ("repetitions", String(s.repetitions)),
                ("connections", String(s.connections)),
                ("load threads", String(s.loadThreads)),
                ("workers", String(s.workers)),
                ("seed", String(s.seed)),
            ]) + "</section></div></header>\n"
        return out
    }

    static func servers(_ d: RunDocument) -> String {
        var out = "<section><h2>Servers</h2>\n"
        guard !d.servers.isEmpty else { return out + "<p class=\"note\">No servers in this document.</p></section>\n" }
        out += "<table><thead><tr><th>server</th><th>kind</th><th>design</th><th>version</th><th>status</th>"
        out += "<th>startup s</th><th>RSS idle MiB</th><th>RSS after MiB</th><th>error</th></tr></thead><tbody>\n"
        for server in d.servers {
            let measured = server.status == .measured
            var error = (server.error ?? "").htmlEscaped
            if !measured, let tail = server.logTail, !tail.isEmpty {
                let source = server.logPath.map { " (\($0))" } ?? ""
                error +=
                    "<details><summary>end of its log\(source.htmlEscaped)</summary><pre>\(tail.htmlEscaped)</pre></details>"
            }
            out +=
                "<tr><td>\(server.name.htmlEscaped)</td><td>\(server.kind.htmlEscaped)</td><td>\(server.design.htmlEscaped)</td>"
            out += "<td>\((server.configuration["version"] ?? "").htmlEscaped)</td>"
            out +=
                "<td class=\"\(measured ? "ok" : "bad")\">\(server.status.rawValue.replacingUnderscores().htmlEscaped)</td>"
            out += cell(server.startupSeconds.map { number($0, decimals: 2) })
            out += cell(server.rssIdleBytes.map { number(Double($0) / 1_048_576, decimals: 1) })
            out += cell(server.rssAfterBytes.map { number(Double($0) / 1_048_576, decimals: 1) })
            out += "<td class=\"text\">\(error)</td></tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    static func verification(_ d: RunDocument) -> String {
        let records = d.servers.flatMap { server in server.verification.map { (server: server.name, record: $0) } }
        guard !records.isEmpty else { return "" }
        var out =
            "<section><h2>Verification</h2>\n<table><thead><tr><th>server</th><th>suite</th><th>checks</th><th>result</th>"
        out += "<th>failures and warnings</th></tr></thead><tbody>\n"
        for (server, v) in records {
            var findings = ""
            for f in v.failures.prefix(20) {
                findings += "<li class=\"bad\">FAIL \(f.check.htmlEscaped): \(f.message.htmlEscaped)</li>"
            }
            if v.failures.count > 20 { findings += "<li>… and \(v.failures.count - 20) more failures</li>" }
            for w in v.warnings.prefix(20) {
                findings += "<li class=\"warn\">warning \(w.check.htmlEscaped): \(w.message.htmlEscaped)</li>"
            }
            if v.warnings.count > 20 { findings += "<li>… and \(v.warnings.count - 20) more warnings</li>" }
            out += "<tr><td>\(server.htmlEscaped)</td><td>\(v.suite.htmlEscaped)</td><td>\(v.checksRun)</td>"
            out += "<td class=\"\(v.passed ? "ok" : "bad")\">\(v.passed ? "passed" : "failed")</td>"
            out += "<td class=\"text\">\(findings.isEmpty ? "" : "<ul>\(findings)</ul>")</td></tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    static func suiteSection(_ suite: String, document d: RunDocument, colours: ServerColours) -> String {
        let rows = d.measurements.filter { $0.suite == suite }
        var out = "<section><h2>Suite: \(suite.htmlEscaped)</h2>\n"
        guard !rows.isEmpty else { return out + "<p class=\"note\">No measurements for this suite.</p></section>\n" }
        let charts = SuiteCharts(
            suite: suite, measurements: rows, colours: colours,
            preferredConnections: d.settings.connections
        ).render()
        if charts.figures.isEmpty {
            out += "<p class=\"note\">No charts: no server was measured in this suite.</p>\n"
        } else {
            out += "<div class=\"charts\">\n" + charts.figures.joined(separator: "\n") + "\n</div>\n"
        }
        for note in charts.notes { out += "<p class=\"note\">\(note.htmlEscaped)</p>\n" }
        return out + measurementTable(rows, repetitions: d.settings.repetitions) + "</section>\n"
    }

    static func measurementTable(_ rows: [MeasurementRecord], repetitions: Int) -> String {
        func key(_ m: MeasurementRecord) -> String { "\(m.workload)/\(m.protocolName)/\(m.mode)" }
        var best: [String: Double] = [:]
        var competitors: [String: Int] = [:]
        for m in rows where m.notApplicable == nil {
            guard let rps = m.median?.rps else { continue }
            best[key(m)] = max(best[key(m)] ?? 0, rps)
            competitors[key(m), default: 0] += 1
        }
        var reasons: [String] = []
        var out = "<table class=\"data\"><thead><tr><th>server</th><th>workload</th><th>protocol</th><th>mode</th>"
        out += "<th>req/s</th><th>±</th><th>p50 µs</th><th>p99 µs</th><th>CPU µs/req</th><th>memory MiB</th>"
        out += "<th>allocs/req</th><th>bytes/req</th><th>errors</th><th>wrong answers</th></tr></thead><tbody>\n"
        for m in rows {
            let lead =
                "<td>\(m.server.htmlEscaped)</td><td title=\"\(m.description.htmlEscaped)\">\(m.workload.htmlEscaped)</td>"
                + "<td>\(m.protocolName.htmlEscaped)</td><td>\(m.mode.htmlEscaped)</td>"
            if let reason = m.notApplicable {
                if !reasons.contains(reason) { reasons.append(reason) }
                let mark = (reasons.firstIndex(of: reason) ?? 0) + 1
                out +=
                    "<tr class=\"na\" title=\"\(reason.htmlEscaped)\">\(lead)<td colspan=\"10\">n/a <sup>\(mark)</sup></td></tr>\n"
                continue
            }
            if let failure = m.failure {
                out +=
                    "<tr class=\"failed\">\(lead)<td colspan=\"10\" class=\"bad\">FAILED: \(failure.htmlEscaped)</td></tr>\n"
                continue
            }
            guard let s = m.median else {
                out += "<tr class=\"na\">\(lead)<td colspan=\"10\">no repetitions</td></tr>\n"
                continue
            }
            let spread = s.rps > 0 ? (s.rpsMax - s.rpsMin) / 2 / s.rps * 100 : 0
            let isBest = (competitors[key(m)] ?? 0) > 1 && best[key(m)] == s.rps
            out +=
                "<tr>\(lead)<td class=\"\(isBest ? "best" : "")\">\(number(s.rps, decimals: 0))\(s.loadBound ? " ‡" : "")</td>"
            out +=
                cell(number(spread, decimals: 1) + "%") + cell(number(s.latencyUs.p50, decimals: 1))
                + cell(number(s.latencyUs.p99, decimals: 1))
            out += cell(s.serverCpuUsPerRequest.map { number($0, decimals: 2) })
            out += cell(s.memoryBytes.map { number($0 / 1_048_576, decimals: 1) })
            out += cell(s.allocationsPerRequest.map { number($0, decimals: 2) })
            out += cell(s.bytesPerRequest.map { number($0, decimals: 0) })
            out +=
                "<td class=\"\(s.errors > 0 ? "bad" : "")\">\(s.errors)</td><td class=\"\(s.wrongAnswers > 0 ? "bad" : "")\">\(s.wrongAnswers)</td></tr>\n"
        }
        out +=
            "</tbody></table>\n<ul class=\"footnotes\"><li>Medians of \(repetitions) repetitions; ± is half the min–max spread of throughput; the best throughput of a workload is in bold.</li>"
        if rows.contains(where: { $0.median?.loadBound == true }) {
            out += "<li>‡ the load generator was busy ≥ 90% of the time: the server may be faster than shown.</li>"
        }
        if rows.contains(where: { $0.median?.memoryBytes != nil }) {
            out +=
                "<li>Memory: PSS (proportional set size: a page shared by a server's processes counted once) where the kernel reports it, else RSS; an external server's processes at their peak under load; an embedded stack shares catbench's process with the load generator, and the whole process is shown.</li>"
        }
        for (i, reason) in reasons.enumerated() { out += "<li><sup>\(i + 1)</sup> n/a: \(reason.htmlEscaped)</li>" }
        return out + "</ul>\n"
    }

    static func figures(_ d: RunDocument) -> String {
        guard !d.figures.isEmpty else { return "" }
        var out =
            "<section><h2>Figures</h2>\n<table><thead><tr><th>server</th><th>suite</th><th>protocol</th><th>figure</th>"
        out += "<th>value</th><th>description</th></tr></thead><tbody>\n"
        for f in d.figures {
            out +=
                "<tr><td>\(f.server.htmlEscaped)</td><td>\(f.suite.htmlEscaped)</td><td>\(f.protocolName.htmlEscaped)</td>"
            out +=
                "<td>\(f.name.htmlEscaped)</td>" + cell(number(f.value, decimals: f.unit == "%" ? 1 : 2) + " " + f.unit)
            out += "<td class=\"text\">\(f.description.htmlEscaped)</td></tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    /// The plan's suites, then any other suite the measurements name.
    static func suiteOrder(_ d: RunDocument) -> [String] {
        distinct(d.settings.suites + d.measurements.map(\.suite))
    }

    /// The distinct values in order of first appearance.
    static func distinct<T: Hashable>(_ values: [T]) -> [T] {
        var seen = Set<T>()
        return values.filter { seen.insert($0).inserted }
    }

    static func definitions(_ pairs: [(String, String)]) -> String {
        "<dl>" + pairs.map { "<dt>\($0.0.htmlEscaped)</dt><dd>\($0.1.htmlEscaped)</dd>" }.joined() + "</dl>"
    }

    static func cell(_ text: String?) -> String {
        "<td>\((text ?? "n/a").htmlEscaped)</td>"
    }

    static func loadAverages(_ values: [Double]) -> String {
        values.isEmpty ? "—" : values.map { number($0, decimals: 2) }.joined(separator: " / ") + " (1, 5, 15 min)"
    }

    /// `TableRenderer.format`, kept to the range where it cannot overflow.
    static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "—" }
        return abs(value) < 1e14 ? TableRenderer.format(value, decimals: decimals) : "\(value)"
    }

    static let stylesheet = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff;margin:0 auto;padding:1rem 1.5rem;max-width:1400px}
        h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .6rem;border-bottom:1px solid #ddd}
        .facts{display:flex;flex-wrap:wrap;gap:0 3rem}.facts h2{font-size:1rem;border:0;margin:.8rem 0 .3rem}
        dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem;margin:0}dt{color:#555}dd{margin:0}
        .banner{background:#fff3cd;border:1px solid #e0b100;padding:.6rem .9rem;border-radius:4px}
        table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
        th,td{border-bottom:1px solid #e5e5e5;padding:.25rem .6rem;text-align:right;vertical-align:top}
        th{background:#f6f6f6;font-weight:600}th:first-child,td:first-child,td.text{text-align:left}
        table:not(.data) td{text-align:left}
        td:nth-child(-n+4){text-align:left}
        tr.na td{color:#777}.best{font-weight:700}.bad{color:#b00020}.ok{color:#1b6e1b}.warn{color:#8a5a00}
        pre{background:#f6f6f6;padding:.5rem;max-height:20rem;overflow:auto;white-space:pre-wrap;text-align:left}
        details summary{cursor:pointer;color:#555}ul{margin:.2rem 0;padding-left:1.2rem}
        .footnotes{color:#555;font-size:.9em;list-style:none;padding:0}p.note{color:#555;font-style:italic}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1rem}
        figure.chart{margin:0;border:1px solid #eee;border-radius:4px;padding:.3rem}figure.wide{grid-column:1/-1}
        svg.chart{max-width:100%;height:auto;display:block}
        svg.chart text{font:11px system-ui,sans-serif;fill:#222}svg.chart .chart-title{font-size:13px;font-weight:600}
        svg.chart .axis-title{fill:#444}svg.chart .tick{fill:#555}svg.chart .na,svg.chart .note{fill:#888;font-size:9px}
        svg.chart .note{font-size:12px;font-style:italic}
        svg.chart .grid{stroke:#e6e6e6;fill:none}svg.chart .axis{stroke:#444;fill:none}
        svg.chart .line{fill:none;stroke-width:1.8}svg.chart .whisker{stroke:#222;fill:none}
        """
}

extension String {
    /// The text with HTML's special characters replaced, safe in elements and in quoted attributes.
    var htmlEscaped: String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
