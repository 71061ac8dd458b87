// FrameHeaderTests.swift -- strict validation of the JSON header, one rule per test.
import SocketCore
import Testing

@Suite struct FrameHeaderTests {
    private func validate(_ json: String, limit: Int = 1 << 20) throws(FrameError) -> FrameHeader {
        let bytes = Array(json.utf8)
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(FrameError) in try FrameHeader(validating: raw, maximumContentLength: limit) }
        }
        return try result.get()
    }

    private let valid =
        #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 41}"#

    @Test func acceptsTheGuidesHeader() throws {
        let header = try validate(valid)
        #expect(
            header
                == FrameHeader(
                    byteOrder: .little,
                    contentType: "text/json",
                    contentEncoding: "utf-8",
                    contentLength: 41
                )
        )
        #expect(header.isJSON)
    }

    /// The guide's exact header skips the scan; the same header with one more space takes the full scan.
    /// Whatever the length token, both must give the same header or the same error.
    @Test(arguments: [
        "41", "0", "7", "00", "007", "123456789012345678", "1234567890123456789", "1048576", "1048577", "-1", "1.5",
        "1e3", "true", "\"41\"", "41 ", "4 1", "",
    ])
    func guideHeaderFastPathAgreesWithTheFullScan(length: String) {
        let exact =
            #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": "#
            + length + "}"
        let spaced =
            #"{"byteorder":  "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": "#
            + length + "}"
        // Errors compared without their byte offsets, which the extra space moves by one.
        func outcome(_ json: String) -> String {
            do {
                return "\(try validate(json))"
            } catch {
                return "error: \(error)".replacing(#/\sat byte \d+/#, with: "")
            }
        }
        #expect(outcome(exact) == outcome(spaced))
    }

    @Test func extraKeysAreIgnoredAndOrderDoesNotMatter() throws {
        let header = try validate(
            #"{"x-extra": [1, {"a": null}], "content-length": 3, "content-encoding": "binary", "content-type": "a/b", "byteorder": "big"}"#
        )
        #expect(header.contentLength == 3)
        #expect(header.byteOrder == .big)
        #expect(!header.isJSON)
    }

    @Test(arguments: ["byteorder", "content-length", "content-type", "content-encoding"])
    func eachRequiredKeyMissing(key: String) {
        var members = [
            "\"byteorder\": \"little\"", "\"content-length\": 1", "\"content-type\": \"a\"",
            "\"content-encoding\": \"b\"",
        ]
        members.removeAll { $0.hasPrefix("\"\(key)\"") }
        let error = #expect(throws: FrameError.self) { try validate("{" + members.joined(separator: ", ") + "}") }
        #expect(error == .missingHeader(key))
        #expect(error?.description == "Missing required header '\(key)'.")
    }

    @Test(arguments: ["true", "1.5", "\"10\"", "1e400", "-1", "null", "[1]", "1E2"])
    func contentLengthMustBeANonNegativeIntegerToken(value: String) {
        let json =
            #"{"byteorder": "little", "content-type": "a", "content-encoding": "b", "content-length": \#(value)}"#
        #expect(throws: FrameError.self) { try validate(json) }
    }

    @Test func hugeContentLengthIsTooLarge() {
        let json =
            #"{"byteorder": "little", "content-type": "a", "content-encoding": "b", "content-length": 99999999999999999999999999}"#
        let error = #expect(throws: FrameError.self) { try validate(json) }
        guard case .contentTooLarge = error else {
            Issue.record("expected contentTooLarge, got \(String(describing: error))")
            return
        }
    }

    @Test func negativeZeroIsZero() throws {
        #expect(
            try validate(
                #"{"byteorder": "little", "content-type": "a", "content-encoding": "b", "content-length": -0}"#
            ).contentLength == 0
        )
    }

    @Test(arguments: ["\"middle\"", "1", "null", "\"LITTLE\""])
    func byteorderMustBeLittleOrBig(value: String) {
        let json = #"{"byteorder": \#(value), "content-type": "a", "content-encoding": "b", "content-length": 1}"#
        #expect(throws: FrameError.invalidHeaderValue(key: "byteorder", reason: "must be \"little\" or \"big\"")) {
            try validate(json)
        }
    }

    @Test func duplicateKeysAreRejected() {
        let json =
            #"{"byteorder": "little", "content-type": "a", "content-encoding": "b", "content-length": 1, "content-length": 2}"#
        let error = #expect(throws: FrameError.self) { try validate(json) }
        #expect(error?.description.contains("duplicate key 'content-length'") == true)
    }

    @Test(arguments: ["[]", "5", "\"text\"", "null"])
    func headerMustBeAnObject(json: String) {
        let error = #expect(throws: FrameError.self) { try validate(json) }
        guard case .headerNotObject = error else {
            Issue.record("expected headerNotObject, got \(String(describing: error))")
            return
        }
    }

    @Test func invalidUTF8IsRejectedWithItsOffset() {
        let bytes: [UInt8] = Array(#"{"byteorder": "#.utf8) + [0x22, 0xFF, 0x22, 0x7D]
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(FrameError) in try FrameHeader(validating: raw, maximumContentLength: 10) }
        }
        guard case .failure(.invalidHeader(let error)) = result else {
            Issue.record("expected invalidHeader, got \(result)")
            return
        }
        #expect(error.offset == 15)
    }

    @Test func nestingDepthIsBounded() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let json =
            #"{"byteorder": "little", "content-type": "a", "content-encoding": "b", "content-length": 1, "x": \#(deep)}"#
        let error = #expect(throws: FrameError.self) { try validate(json) }
        #expect(error?.description.contains("nesting deeper than") == true)
    }

    @Test func textJSONNeedsADecodableEncoding() throws {
        #expect(throws: FrameError.unsupportedEncoding("latin-1")) {
            try validate(
                #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "latin-1", "content-length": 1}"#
            )
        }
        #expect(
            try validate(
                #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "UTF8", "content-length": 1}"#
            ).isJSON
        )
        // Binary content may name any encoding.
        #expect(
            try !validate(
                #"{"byteorder": "little", "content-type": "a/b", "content-encoding": "latin-1", "content-length": 1}"#
            ).isJSON
        )
    }

    @Test func emptyHeaderIsAnError() {
        #expect(throws: FrameError.emptyHeader) { try validate("") }
    }
}
