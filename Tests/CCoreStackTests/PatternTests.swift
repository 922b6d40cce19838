import CCoreStack
import Suites
import Testing

/// ccore's compiled patterns agree with the regular expressions the other
/// stacks use for the same rules.
@Suite("ccore compiled patterns")
struct PatternTests {
    static let samples: [(String, [String], [String])] = [
        (ValidationRules.zipPattern, ["12345", "00000"], ["1234", "123456", "12a45", "", " 12345"]),
        (ValidationRules.countryPattern, ["GB", "FR"], ["gb", "G", "GBR", "G1"]),
        (
            ValidationRules.usernamePattern, ["ada_l", "a1b", "x_________________y"],
            ["ab", "Ada", "a-b", "a b", String(repeating: "a", count: 21)]
        ),
        (ValidationRules.skuPattern, ["ABC-123"], ["ABC123", "abc-123", "ABCD-123", "AB-1234", "ABC-12"]),
        (
            ValidationRules.emailPattern, ["a@b.co", "first.last@example.com", "x@y.z.w"],
            ["a@b", "a b@c.d", "@b.co", "a@@b.co", "a@b.", "ab.co"]
        ),
    ]

    @Test("each rule's pattern accepts and refuses what it should", arguments: samples.map { $0.0 })
    func agreesWithRegex(_ source: String) throws {
        let pattern = try CCorePattern(source)
        let regex = try Regex(source)
        let (_, good, bad) = Self.samples.first { $0.0 == source }!
        for text in good + bad {
            let expected = (try? regex.wholeMatch(in: text)) != nil
            #expect(pattern.matches(text) == expected, "\(source) on \(text.debugDescription)")
        }
        for text in good { #expect(pattern.matches(text)) }
        for text in bad { #expect(!pattern.matches(text)) }
    }

    @Test("patterns outside the supported grammar are refused")
    func invalid() {
        for source in ["abc", "^abc", "^[abc$", "^a{2$", "^a{3,1}$"] {
            #expect(throws: CCorePattern.Invalid.self, "\(source)") { try CCorePattern(source) }
        }
    }
}
