// WireAndOutput.swift -- what the integration suites read and write: app-protocol messages built by hand
// and decoded independently, the Python guide peer, and the lines and JSON the programs print.
import Foundation
import Glibc
import SocketCore
import Testing

// MARK: - The app protocol, seen from the wire

/// Builds requests by hand (not with sockettool's encoder) and decodes replies.
enum AppWire {
    /// The guide's search request for `value`, as the guide's client writes it. `value` and `action` must
    /// need no JSON escapes.
    static func searchRequest(_ value: String, action: String = "search") -> [UInt8] {
        let content = Array(#"{"action": "\#(action)", "value": "\#(value)"}"#.utf8)
        return message(header: header(contentLength: String(content.count)), content: content)
    }

    /// A text/json reply {"result": `result`}, its content encoded by Foundation (escapes and all), its
    /// header by hand: what a server other than sockettool could send.
    static func reply(result: String) throws -> [UInt8] {
        let content = [UInt8](try JSONSerialization.data(withJSONObject: ["result": result]))
        return message(header: header(contentLength: String(content.count)), content: content)
    }

    /// A message with a hand-written JSON header: 2-byte big-endian length, header bytes, content.
    static func message(header: [UInt8], content: [UInt8] = []) -> [UInt8] {
        [UInt8(header.count >> 8), UInt8(header.count & 0xFF)] + header + content
    }

    /// A message with a hand-written JSON header given as text.
    static func message(header: String, content: [UInt8] = []) -> [UInt8] {
        message(header: Array(header.utf8), content: content)
    }

    /// A JSON header with the four keys in the guide's order; `nil` drops a key, other text is used raw.
    static func header(
        byteorder: String? = #""little""#,
        contentType: String? = #""text/json""#,
        contentEncoding: String? = #""utf-8""#,
        contentLength: String?
    ) -> String {
        var members: [String] = []
        if let byteorder { members.append(#""byteorder": "# + byteorder) }
        if let contentType { members.append(#""content-type": "# + contentType) }
        if let contentEncoding { members.append(#""content-encoding": "# + contentEncoding) }
        if let contentLength { members.append(#""content-length": "# + contentLength) }
        return "{" + members.joined(separator: ", ") + "}"
    }

    /// Decodes exactly one message from `bytes`: the frame and how many bytes followed it.
    static func decodeOne(_ bytes: [UInt8]) throws -> (frame: Frame, trailing: Int) {
        var decoder = FrameDecoder(maximumContentLength: 1 << 24)
        decoder.feed(bytes)
        guard let frame = try decoder.next() else {
            try decoder.finish()
            throw LoopbackFailure("no whole message in \(bytes.count) bytes")
        }
        return (frame, decoder.bufferedByteCount)
    }

    /// The "result" of a text/json reply, parsed with Foundation (not sockettool's own JSON parser);
    /// nil unless the content is exactly one object with a string "result".
    static func result(of frame: Frame) -> String? {
        guard frame.header.contentType == "text/json", frame.header.contentEncoding == "utf-8",
            let object = try? JSONSerialization.jsonObject(with: Data(frame.content)) as? [String: Any],
            object.count == 1
        else { return nil }
        return object["result"] as? String
    }
}

// MARK: - The independent Python peer

/// Tests/Interop/guide_peer.py: the guide's programs, written from the spec.
enum GuidePeer {
    static var script: String { ChildProcess.interopDirectory + "/guide_peer.py" }

    /// Starts `guide_peer.py server 127.0.0.1 0`; returns it with its port.
    static func startServer(host: String = "127.0.0.1") throws -> (ChildProcess, UInt16) {
        let server = try ChildProcess("python3", [script, "server", host, "0"])
        // "Listening on ('127.0.0.1', 40697)"
        let line = try server.waitForLine { $0.hasPrefix("Listening on") }
        guard let comma = line.lastIndex(of: ","),
            let port = UInt16(
                line[line.index(after: comma)...].trimmingCharacters(in: CharacterSet(charactersIn: " )"))
            )
        else { throw LoopbackFailure("no port in \(line)") }
        return (server, port)
    }

    /// What one of the peer's clients printed, and how it exited.
    struct Run {
        let status: Int32
        /// stdout, line by line.
        let lines: [String]
        let stderr: String
    }

    /// Runs one of the peer's clients to completion.
    static func run(_ arguments: [String], timeout: Duration = TestDeadline.generous) throws -> Run {
        let result = try ChildProcess.run("python3", [script] + arguments, timeout: timeout)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return Run(status: result.status, lines: lines, stderr: result.stderr)
    }

    /// The response the guide's Python server sends to the guide's Python client searching `value`: the
    /// bytes of a correct server, from outside sockettool.
    static func response(searching value: String) throws -> [UInt8] {
        let (server, port) = try startServer()
        defer { server.send(SIGTERM) }
        let client = try run(["client", "127.0.0.1", String(port), "search", value])
        guard client.status == 0, let bytes = raw("RAW-RESPONSE", in: client.lines) else {
            throw LoopbackFailure("the guide peer's client failed: \(client.lines)\n\(client.stderr)")
        }
        return bytes
    }

    /// The bytes of a "RAW-REQUEST <hex>" or "RAW-RESPONSE <hex>" line.
    static func raw(_ tag: String, in lines: [String]) -> [UInt8]? {
        guard let line = lines.last(where: { $0.hasPrefix(tag + " ") || $0 == tag }) else { return nil }
        return [UInt8](hex: line.dropFirst(tag.count).trimmingCharacters(in: .whitespaces))
    }
}

/// Replaces every `127.0.0.1:PORT`, `[::1]:PORT` and `('127.0.0.1', PORT)` with `ADDR`, so the guide's
/// Python lines and sockettool's compare on everything but the address notation and ports.
func maskingAddresses(_ line: String) -> String {
    var text = line
    for pattern in [#"\('[0-9a-fA-F.:]+', \d+(, \d+, \d+)?\)"#, #"\[[0-9a-fA-F:]+\]:\d+"#, #"\d+\.\d+\.\d+\.\d+:\d+"#] {
        text = text.replacingOccurrences(of: pattern, with: "ADDR", options: .regularExpression)
    }
    return text
}

// MARK: - Printed output

/// Parses NDJSON: one object per non-empty line; a line that is not an object fails the test.
func jsonLines(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Issue.record("not a JSON object: \(line)", sourceLocation: sourceLocation)
            return nil
        }
        return object
    }
}

/// True for `127.0.0.1:PORT`.
func isLoopbackAddress(_ text: String) -> Bool {
    text.wholeMatch(of: /127\.0\.0\.1:\d{1,5}/) != nil
}

extension String {
    /// The rest of the string after `prefix`, or nil if it does not start with it.
    func suffixAfter(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
