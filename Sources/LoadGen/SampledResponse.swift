/// An answer kept whole for checking (one in `verifyEvery`).
public struct SampledResponse: Sendable {
    public var status: Int
    /// Status line and header lines, without the final empty line.
    public var head: [UInt8]
    public var body: [UInt8]

    /// Header fields as (name, value) pairs, in order.
    public var headers: [(name: String, value: String)] {
        let text = String(decoding: head, as: UTF8.self)
        return text.split(separator: "\r\n").dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            return (String(line[..<colon]), String(value))
        }
    }
}
