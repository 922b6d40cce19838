/// The run as CSV (RFC 4180), one row per measurement: its identity, its
/// medians and the range of its repetitions. Empty cells are figures not
/// measured for that server (allocations of an external server, say).
public enum CSVReport {
    public static let columns = [
        "server", "suite", "workload", "protocol", "mode", "connections", "streams", "pipeline", "keep_alive", "rate",
        "status", "not_applicable", "failure", "repetitions", "rps_median", "rps_min", "rps_max",
        "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us",
        "allocations_per_request", "bytes_per_request", "server_cpu_us_per_request", "rss_bytes", "pss_bytes",
        "errors", "wrong_answers", "load_bound", "server_version",
    ]

    public static func render(_ document: RunDocument) -> String {
        var out = columns.joined(separator: ",") + "\r\n"
        let versions = Dictionary(
            document.servers.map { ($0.name, $0.configuration["version"] ?? "") }, uniquingKeysWith: { a, _ in a })
        for m in document.measurements {
            let s = m.median
            let status =
                m.notApplicable != nil
                ? "n/a" : (m.failure != nil ? "failed" : (s == nil ? "not_measured" : "measured"))
            let cells: [String] = [
                m.server, m.suite, m.workload, m.protocolName, m.mode, String(m.connections), String(m.streams),
                String(m.pipeline), m.keepAlive ? "true" : "false", m.rate.map { number($0) } ?? "",
                status, m.notApplicable ?? "", m.failure ?? "", String(m.repetitions.count),
                number(s?.rps), number(s?.rpsMin), number(s?.rpsMax),
                number(s?.latencyUs.p50), number(s?.latencyUs.p90), number(s?.latencyUs.p99),
                number(s?.latencyUs.p999), number(s?.latencyUs.max), number(s?.latencyUs.mean),
                number(s?.allocationsPerRequest), number(s?.bytesPerRequest), number(s?.serverCpuUsPerRequest),
                s?.rssBytes.map { String(UInt64($0)) } ?? "", s?.pssBytes.map { String(UInt64($0)) } ?? "",
                s.map { String($0.errors) } ?? "", s.map { String($0.wrongAnswers) } ?? "",
                s.map { $0.loadBound ? "true" : "false" } ?? "", versions[m.server] ?? "",
            ]
            out += cells.map(quote).joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return TableRenderer.format(value, decimals: value == value.rounded() ? 0 : 3)
    }

    /// A field quoted when it holds a comma, a quote or a line break (RFC 4180 §2.6–2.7).
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingQuotes() + "\""
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for c in self {
            if c == "\"" { out += "\"\"" } else { out.append(c) }
        }
        return out
    }
}
