// FramingSelfCheck.swift -- the properties the fuzzer checks on any input, kept in the library so the
// libFuzzer target and the corpus regression test run exactly the same checks.

/// Invariants of the framing, JSON and app-protocol code on arbitrary bytes, and of `serve app`'s bounded
/// answers (AppAnswer: what the loop or a worker thread makes of a request).
public enum FramingSelfCheck {
    /// Runs every check on `bytes`.
    ///
    /// - Returns: A description of the first violated property, or nil when all hold.
    public static func violation(in bytes: [UInt8], maximumContentLength: Int = 4096) -> String? {
        // Chunking must not matter: whole, halves, and (for short inputs) one byte at a time agree.
        let whole = decodeAll([bytes], maximumContentLength)
        let middle = bytes.count / 2
        if decodeAll([Array(bytes[..<middle]), Array(bytes[middle...])], maximumContentLength) != whole {
            return "splitting the input in two changed the result"
        }
        if bytes.count <= 512, decodeAll(bytes.map { [$0] }, maximumContentLength) != whole {
            return "feeding one byte at a time changed the result"
        }
        // The server decodes straight from its read buffer (next(feeding:)): the same bytes, the same result,
        // whole, in two, and one byte at a time.
        if decodeAll([bytes], maximumContentLength, raw: true) != whole
            || decodeAll([Array(bytes[..<middle]), Array(bytes[middle...])], maximumContentLength, raw: true) != whole
            || (bytes.count <= 512 && decodeAll(bytes.map { [$0] }, maximumContentLength, raw: true) != whole)
        {
            return "decoding straight from the read buffer changed the result"
        }
        if let violation = wholeTableSearchViolation(bytes, whole: whole, maximumContentLength) { return violation }
        // Frames whose header, re-encoded in the guide's form, would not fit the 2-byte prefix (a received
        // header may be up to 65535 bytes of anything) cannot round-trip; nothing sockettool sends is one.
        for frame in whole.frames
        where frame.header.contentType.utf8.count + frame.header.contentEncoding.utf8.count < 60_000 {
            // What the encoder writes, the decoder reads back unchanged.
            if decodeAll([frame.encoded()], maximumContentLength).frames != [frame] {
                return "encode/decode round trip differs"
            }
            // The server's answer to any frame is itself a valid frame.
            let response: Frame
            switch Result(catching: { () throws(AppProtocol.ContentError) in try AppProtocol.request(from: frame) }) {
            case .success(let request):
                response = AppProtocol.response(to: request)
                _ = PythonRepr.repr(.string(AppProtocol.result(for: (try? JSONParser.parse(frame.content)) ?? .null)))
                if let violation = boundedAnswerViolation(request, frame: frame, unbounded: response) {
                    return violation
                }
            case .failure(let error):
                response = AppProtocol.resultFrame("Error: \(error)")
            }
            if decodeAll([response.encoded()], 1 << 20).frames != [response] {
                return "the server's response does not decode"
            }
        }
        // JSON: whatever parses re-encodes (Python style) to text that parses to the same value.
        if let value = try? JSONParser.parse(bytes) {
            _ = PythonRepr.repr(value)
            guard let again = try? JSONParser.parse(PythonJSON.encode(value)), again == value else {
                return "JSON value changed through PythonJSON.encode"
            }
        }
        return nil
    }

    /// An answer made under a length bound is the unbounded answer or nothing, and nothing only when the
    /// unbounded one is longer than the bound; AppAnswer's response never passes its bound and decodes.
    private static func boundedAnswerViolation(
        _ request: AppProtocol.Request,
        frame: Frame,
        unbounded: Frame
    ) -> String? {
        if case .json(let document) = request {
            let full = AppProtocol.result(for: document)
            let size = frame.content.count
            for limit in [0, 1, 8, 64, size / 2, size, 2 * size] {
                if let bounded = AppProtocol.result(for: document, limit: limit) {
                    if bounded != full { return "an answer made under a bound of \(limit) differs" }
                } else if full.utf8.count <= limit {
                    return "an answer of \(full.utf8.count) bytes was given up under a bound of \(limit)"
                }
            }
        }
        let answer = AppAnswer.make(for: frame)
        let limit = AppAnswer.maxResponseLength(forRequestOf: frame.content.count)
        if answer.refusal == nil {
            // Also the table's answers, encoded once: byte for byte what the encoder writes.
            if answer.response != unbounded.encoded() { return "the bounded answer differs from the unbounded one" }
            if answer.responseContentLength > limit { return "an answer passed its bound of \(limit) bytes" }
        } else if unbounded.content.count <= limit {
            return "an answer within its bound of \(limit) bytes was refused"
        }
        let decoded = decodeAll([answer.response], 1 << 20)
        guard decoded.error == nil, decoded.frames.count == 1,
            decoded.frames[0].content.count == answer.responseContentLength
        else { return "the bounded answer does not decode to one frame of its length" }
        return nil
    }

    /// The server answers a table search found whole in one read without decoding it
    /// (`AppProtocol.wholeTableSearch`): it must be exactly what the decoder and `tableSearch` make of the bytes.
    private static func wholeTableSearchViolation(
        _ bytes: [UInt8],
        whole: Outcome,
        _ maximumContentLength: Int
    ) -> String? {
        let found = bytes.withUnsafeBytes {
            AppProtocol.wholeTableSearch(in: $0, maximumContentLength: maximumContentLength)
        }
        guard let found else { return nil }
        guard whole.error == nil, whole.frames.count == 1, let frame = whole.frames.first,
            frame.header == .guideSearch(contentLength: found.contentLength),
            2 + found.headerLength + frame.content.count == bytes.count,
            AppProtocol.tableSearch(in: frame) == found.index
        else {
            return "the whole-request table search disagrees with the decoder"
        }
        return nil
    }

    private struct Outcome: Equatable {
        var frames: [Frame] = []
        var error: FrameError?
    }

    private static func decodeAll(_ chunks: [[UInt8]], _ limit: Int, raw: Bool = false) -> Outcome {
        var decoder = FrameDecoder(maximumContentLength: limit)
        var outcome = Outcome()
        do {
            for chunk in chunks {
                if raw {
                    // As AppConnection reads: next(feeding:) decodes straight from the read buffer.
                    let first = chunk.withUnsafeBytes { bytes in
                        Result { () throws(FrameError) in try decoder.next(feeding: bytes) }
                    }
                    if let frame = try first.get() {
                        outcome.frames.append(frame)
                    } else {
                        continue
                    }
                } else {
                    decoder.feed(chunk)
                }
                while let frame = try decoder.next() { outcome.frames.append(frame) }
            }
            try decoder.finish()
        } catch {
            outcome.error = error
        }
        return outcome
    }
}
