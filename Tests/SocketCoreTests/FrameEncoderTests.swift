// FrameEncoderTests.swift -- golden bytes: exactly what the guide's Python programs put on the wire.
import Testing

@testable import SocketCore

@Suite struct FrameEncoderTests {
    @Test func theGuidesSearchRequest() {
        // docs/protocol.md, "The request `sockettool search 127.0.0.1 65432 morpheus` sends" (byteorder little).
        let expected = Array(
            #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 41}{"action": "search", "value": "morpheus"}"#
                .utf8
        )
        let frame = AppProtocol.searchRequest(value: "morpheus")
        #expect(frame.encoded() == [0x00, 0x67] + expected)
    }

    @Test func theGuidesSearchAnswer() {
        // The guide's server transcript: b'\x00g{...43}{"result": "Follow the white rabbit. \xf0\x9f\x90\xb0"}'
        let frame = AppProtocol.response(
            to: .json(.object([JSONMember("action", .string("search")), JSONMember("value", .string("morpheus"))]))
        )
        let bytes = frame.encoded()
        #expect(
            ByteNotation.format(bytes, limit: 1000)
                == #"b'\x00g{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 43}{"result": "Follow the white rabbit. \xf0\x9f\x90\xb0"}'"#
        )
    }

    @Test("the server's answers from the guide's table, encoded once, are the bytes it would write each time")
    func tableAnswersEncodedOnce() {
        let golden = ByteNotation.format(
            Array(
                #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 43}{"result": "Follow the white rabbit. \#u{1F430}"}"#
                    .utf8
            ),
            limit: 1000
        )
        for value in ["morpheus", "ring", "\u{1F436}"] {
            let frame = AppProtocol.searchRequest(value: value)
            let answer = AppAnswer.make(for: frame)
            let document = JSONValue.object([
                JSONMember("action", .string("search")), JSONMember("value", .string(value)),
            ])
            let request = AppProtocol.Request.json(document)
            let computed = AppProtocol.resultFrame(AppProtocol.result(for: document))
            #expect(answer.response == computed.encoded(), "\(value)")
            #expect(answer.responseContentLength == computed.content.count, "\(value)")
            #expect(answer.request == request && answer.refusal == nil)
        }
        let morpheus = AppAnswer.make(for: AppProtocol.searchRequest(value: "morpheus")).response
        #expect(ByteNotation.format(Array(morpheus.dropFirst(2)), limit: 1000) == golden)
        // Not in the table: the answer is written for the request.
        let other = AppAnswer.make(for: AppProtocol.searchRequest(value: "neo"))
        #expect(
            String(decoding: other.response.dropFirst(2), as: UTF8.self).hasSuffix(
                #"{"result": "No match for 'neo'."}"#
            )
        )
        let wrongAction = AppAnswer.make(for: AppProtocol.searchRequest(action: "find", value: "morpheus"))
        #expect(
            String(decoding: wrongAction.response, as: UTF8.self).hasSuffix(
                #"{"result": "Error: invalid action 'find'."}"#
            )
        )
    }

    @Test func theGuidesBinaryExchange() {
        // The guide's transcript shows b'\x00|' from a big-endian machine: "big" is 3 bytes shorter than "little".
        let request = AppProtocol.binaryRequest(value: "\u{1F603}")
        #expect(
            ByteNotation.format(request.encoded(), limit: 1000)
                == #"b'\x00\x7f{"byteorder": "little", "content-type": "binary/custom-client-binary-type", "content-encoding": "binary", "content-length": 10}binary\xf0\x9f\x98\x83'"#
        )
        let response = AppProtocol.response(
            to: .binary(contentType: request.header.contentType, content: request.content)
        )
        #expect(
            ByteNotation.format(response.encoded(), limit: 1000)
                == #"b'\x00\x7f{"byteorder": "little", "content-type": "binary/custom-server-binary-type", "content-encoding": "binary", "content-length": 37}First 10 bytes of request: binary\xf0\x9f\x98\x83'"#
        )
    }

    @Test func pythonStringEscapes() {
        var output: [UInt8] = []
        PythonJSON.appendString("q\"b\\\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}\u{2028}é🐶", to: &output)
        // json.dumps("q\"b\\\b\f\n\r\t\x01\x1f\x7f\u2028é🐶", ensure_ascii=False)
        #expect(
            String(decoding: output, as: UTF8.self) == "\"q\\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}\u{2028}é🐶\""
        )
    }

    @Test func contentLengthIsTheByteCountNotTheCharacterCount() {
        let frame = AppProtocol.searchRequest(value: "\u{1F436}")
        #expect(frame.header.contentLength == 37)
        #expect(frame.encoded().count == 2 + 103 + 37)
    }

    @Test func roundTripThroughTheDecoder() throws {
        let frame = Frame(
            contentType: "application/octet-stream",
            contentEncoding: "binary",
            content: (0...255).map { UInt8($0) }
        )
        var decoder = FrameDecoder()
        decoder.feed(frame.encoded())
        #expect(try decoder.next() == frame)
    }
}

/// The guide client's exact search request skips the JSON parser; the same request with one more space
/// goes through it. Both must give the same request or the same error.
@Suite struct AppRequestFastPathTests {
    @Test(arguments: [
        "morpheus", "ring", "\u{1F436}", "", "a b", "\u{7F}", "caf\u{E9}", #"a\"b"#, #"a\\b"#, #"\u0041"#, "\u{01}",
        "\t",
    ])
    func agreesWithTheParser(value: String) {
        func request(_ content: String) -> String {
            let frame = Frame(contentType: "text/json", contentEncoding: "utf-8", content: Array(content.utf8))
            do {
                return "\(try AppProtocol.request(from: frame))"
            } catch {
                return "error: \(error)".replacing(#/\sat byte \d+/#, with: "")
            }
        }
        let exact = #"{"action": "search", "value": ""# + value + #""}"#
        let spaced = #"{"action": "search",  "value": ""# + value + #""}"#
        #expect(request(exact) == request(spaced))
    }

    @Test func recognisesOnlyTheExactForm() {
        #expect(AppProtocol.guideSearchValue(Array(#"{"action": "search", "value": "morpheus"}"#.utf8)) == "morpheus")
        #expect(AppProtocol.guideSearchValue(Array(#"{"action": "search", "value": "morpheus"} "#.utf8)) == nil)
        #expect(AppProtocol.guideSearchValue(Array(#"{"action": "find", "value": "morpheus"}"#.utf8)) == nil)
        #expect(AppProtocol.guideSearchValue(Array(#"{"action": "search", "value": "a\"b"}"#.utf8)) == nil)
    }
}

@Suite struct Base64Tests {
    @Test(
        "RFC 4648's test vectors",
        arguments: [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ]
    )
    func vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
    }

    @Test func everyByteValue() {
        // All 256 values, so every sextet of the alphabet is used, high bits included.
        let bytes = (0...255).map { UInt8($0) }
        #expect(Base64.encode(bytes).hasPrefix("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"))
        #expect(Base64.encode(bytes).hasSuffix("8PHy8/T19vf4+fr7/P3+/w=="))
    }
}
