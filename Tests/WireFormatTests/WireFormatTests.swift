import Testing
import WireFormat

@Suite("wire format helpers")
struct WireFormatTests {
    @Test("query values are found by name and decoded")
    func queryValues() {
        let q = Array("q=caf%C3%A9+au+lait&limit=5&empty=&flag&q=second&a%20b=spaced".utf8)
        #expect(QueryString.value(of: "q", in: q) == "café au lait")
        #expect(QueryString.value(of: "limit", in: q) == "5")
        #expect(QueryString.value(of: "empty", in: q) == "")
        #expect(QueryString.value(of: "flag", in: q) == "")
        #expect(QueryString.value(of: "a b", in: q) == "spaced")
        #expect(QueryString.value(of: "missing", in: q) == nil)
        #expect(QueryString.value(of: "q", in: Array("".utf8)) == nil)
        #expect(QueryString.parse(q).count == 6)
        #expect(QueryString.decode(Array("100%".utf8)) == "100%")
        #expect(QueryString.decode(Array("%zz%4".utf8)) == "%zz%4")
        #expect(QueryString.encode("a b/é") == "a%20b%2F%C3%A9")
        #expect(QueryString.decode(Array(QueryString.encode("naïve & co").utf8)) == "naïve & co")
    }

    @Test("IMF-fixdate formatting and checking")
    func dates() {
        #expect(HTTPDate.format(epochSeconds: 784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.isValid("Sun, 06 Nov 1994 08:49:37 GMT"))
        #expect(!HTTPDate.isValid("Sunday, 06-Nov-94 08:49:37 GMT"))
        #expect(!HTTPDate.isValid("Sun, 06 Nov 1994 08:49:37 UTC"))
        #expect(HTTPDate.isValid(HTTPDate.now()))
    }

    @Test("the JSON writer produces valid, escaped JSON and reuses its buffer")
    func json() {
        var w = JSONWriter()
        w.beginObject()
        w.key("n"); w.int(-1234567890)
        w.key("z"); w.int(0)
        w.key("max"); w.int(Int.max)
        w.key("min"); w.int(Int.min)
        w.key("s"); w.string("a\"b\\c\nd\u{1}é")
        w.key("list"); w.beginArray(); w.bool(true); w.null(); w.int(7); w.endArray()
        w.dynamicKey("k k"); w.beginObject(); w.endObject()
        w.endObject()
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(
            text
                == #"{"n":-1234567890,"z":0,"max":9223372036854775807,"min":-9223372036854775808,"s":"a\"b\\c\nd\u0001é","list":[true,null,7],"k k":{}}"#
        )
        w.reset()
        w.beginArray(); w.int(1); w.int(2); w.endArray()
        #expect(String(decoding: w.bytes, as: UTF8.self) == "[1,2]")
    }
}
