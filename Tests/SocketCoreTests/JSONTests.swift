// JSONTests.swift -- the strict parser, and Python's repr/str of what it parses.
import SocketCore
import Testing

@Suite struct JSONTests {
    private func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKind() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\udc36"} "#)
        #expect(
            value["a"]
                == .array([
                    .number(text: "1", isInteger: true), .number(text: "-2.5e3", isInteger: false), .bool(true),
                    .bool(false), .null,
                ])
        )
        #expect(value["b"] == .string("x\"\\/\u{08}\u{0C}\n\r\té🐶"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "NaN", "Infinity", "'a'", "{a: 1}", "\"\\x\"",
        "\"\\ud800\"",
        "\"\u{01}\"", "[1] [2]", "tru", "\"abc",
    ])
    func rejectsInvalidDocuments(text: String) {
        #expect(throws: JSONError.self) { try parse(text) }
    }

    @Test func errorsCarryTheirOffset() {
        let error = #expect(throws: JSONError.self) { try parse(#"{"a" 1}"#) }
        #expect(error?.reason == "expected ':' after an object key")
        #expect(error?.offset == 5)
    }

    @Test(
        "floats print as Python's repr prints them, positional up to 16 digits before the point",
        arguments: [
            ("9.5e15", "9500000000000000.0"), ("9007199254740992", "9007199254740992.0"), ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"), ("123456789012345678.0", "1.2345678901234568e+17"),
            ("1e-4", "0.0001"), ("1e-5", "1e-05"), ("0.1", "0.1"), ("-0.0", "-0.0"), ("0e0", "0.0"),
            ("1.5e300", "1.5e+300"), ("5e-324", "5e-324"), ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("-9.999999999999999e15", "-1e+16"), ("-9.999999999999998e15", "-9999999999999998.0"),
            ("12345.678", "12345.678"), ("1e22", "1e+22"),
            ("0.00012345", "0.00012345"), ("100.0", "100.0"), ("-1.0", "-1.0"), ("1e400", "inf"),
            ("-1e400", "-inf"), ("1e-400", "0.0"),
        ]
    )
    func floatRepr(json: String, python: String) {
        #expect(PythonRepr.str(.number(text: json, isInteger: false)) == python)
    }

    @Test func pythonReprMatchesPython() throws {
        let value = try parse(
            #"{"action": "search", "value": ["it's", 1, 2.5, null, true, {"k": "a\nb"}], "e": 1e16, "f": 1E-5, "z": -0}"#
        )
        #expect(
            PythonRepr.repr(value)
                == #"{'action': 'search', 'value': ["it's", 1, 2.5, None, True, {'k': 'a\nb'}], 'e': 1e+16, 'f': 1e-05, 'z': 0}"#
        )
        #expect(PythonRepr.str(.string("plain")) == "plain")
        #expect(PythonRepr.string("\u{1B}[31m\u{A0}🐶") == #"'\x1b[31m\xa0🐶'"#)
    }

    @Test func pythonJSONRoundTrip() throws {
        let text = #"{"a": [1, 2.50, {"b": null}], "c": "é\u0001"}"#
        #expect(
            String(decoding: PythonJSON.encode(try parse(text)), as: UTF8.self)
                == "{\"a\": [1, 2.50, {\"b\": null}], \"c\": \"é\\u0001\"}"
        )
    }

    /// Python writes DEL and C1 controls raw, and the wire keeps that; a log line escapes them, since a
    /// terminal may act on U+009B (CSI) as on ESC [.
    @Test func terminalSafeEscapesDELAndC1ButNotOtherText() {
        let value = JSONValue.string("a\u{9B}31m\u{7F}\u{80}\u{9F}\u{A0}é🐶")
        #expect(PythonJSON.encode(value) == Array("\"a\u{9B}31m\u{7F}\u{80}\u{9F}\u{A0}é🐶\"".utf8))
        #expect(
            String(decoding: PythonJSON.encode(value, terminalSafe: true), as: UTF8.self)
                == #""a\u009b31m\u007f\u0080\u009f\#u{A0}é🐶""#
        )
        #expect(EventLog.jsonLine("x", [("v", value)]).utf8.allSatisfy { $0 != 0x7F && $0 != 0x9B })
    }
}

@Suite struct JSONLimitsTests {
    @Test func duplicateKeysInLargeObjectsAreFoundWithoutQuadraticWork() throws {
        // 50,000 distinct keys parse; the same with one repeated at the end is refused.
        let members = (0..<50_000).map { "\"k\($0)\": \($0)" }
        let object = "{" + members.joined(separator: ", ") + "}"
        let value = try JSONParser.parse(Array(object.utf8))
        guard case .object(let parsed) = value else {
            Issue.record("not an object")
            return
        }
        #expect(parsed.count == 50_000)
        let duplicated = "{" + (members + ["\"k49999\": 0"]).joined(separator: ", ") + "}"
        let error = #expect(throws: JSONError.self) { try JSONParser.parse(Array(duplicated.utf8)) }
        #expect(error?.reason == "duplicate key 'k49999'")
    }
}
