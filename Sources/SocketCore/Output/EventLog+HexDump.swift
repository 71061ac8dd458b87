// EventLog+HexDump.swift -- -x / --hexdump: each chunk a program sends or receives, as HexDump lays it
// out, on stderr; in JSON mode a "data" event with the bytes in hex.

extension EventLog {
    /// Dumps one chunk, if -x asked for it (check `dumpsBytes` first on hot paths: it costs nothing then).
    ///
    /// - Parameters:
    ///   - bytes: The chunk as it went over the connection.
    ///   - direction: Sent or received, seen from this program.
    ///   - offset: The stream position of its first byte in that direction.
    ///   - peer: The other end, `host:port`.
    public func hexDump(_ bytes: UnsafeRawBufferPointer, _ direction: HexDump.Direction, offset: Int, peer: String) {
        guard dumpsBytes, !bytes.isEmpty else { return }
        switch format {
        case .text:
            // One write per chunk, however many lines it has.
            diagnostics.writeLine { line in
                HexDump.appendHeader(direction, count: bytes.count, peer: peer, to: &line)
                line.append(UInt8(ascii: "\n"))
                HexDump.appendLines(bytes, offset: offset, to: &line)
                line.removeLast()
            }
        case .json:
            event(
                "data",
                level: .quiet,
                text: "",
                fields: [
                    ("direction", .string(direction.rawValue)), ("peer", .string(peer)), ("offset", .int(offset)),
                    ("bytes", .int(bytes.count)), ("hex", .string(HexDump.hexString(bytes))),
                ]
            )
        }
    }
}
