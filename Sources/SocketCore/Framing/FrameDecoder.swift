// FrameDecoder.swift -- bytes in any chunking in, whole messages (or a precise error) out.
//
// A pure value type: it never touches a socket, so it is tested and fuzzed alone. `next()` loops through
// its states until it has a frame or cannot progress, so a prefix, header and content arriving in one
// read are all handled at once (the guide's libserver stalls there when its stages are chained with else).

/// Decodes the guide's messages from a byte stream.
public struct FrameDecoder: Sendable {
    /// The largest content accepted unless a caller says otherwise: 1 MiB.
    public static let defaultMaximumContentLength = 1 << 20

    private enum State: Sendable {
        case waitingForHeaderLength
        case waitingForHeader(length: Int)
        case waitingForContent(FrameHeader, headerLength: Int)
        /// An error was thrown; the stream cannot be resynchronised.
        case failed(FrameError)
    }

    /// Larger declared content-lengths are refused as soon as the header is read.
    public let maximumContentLength: Int
    private var state = State.waitingForHeaderLength
    /// Bytes received and not yet consumed start at `readIndex`. The buffer grows only as bytes arrive.
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// The JSON header length of the last frame `next()` returned, as its prefix gave it (for -v lines).
    public private(set) var lastHeaderLength = 0

    public init(maximumContentLength: Int = defaultMaximumContentLength) {
        self.maximumContentLength = maximumContentLength
    }

    /// Bytes fed and not yet returned in a frame.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// True when no partial message is held (nothing buffered and between messages).
    public var isAtMessageBoundary: Bool {
        if case .waitingForHeaderLength = state { return bufferedByteCount == 0 }
        return false
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, or nil when more bytes are needed.
    ///
    /// - Throws: `FrameError` for a malformed header or an oversized declared length. After an error the
    ///   decoder keeps throwing it: a byte stream cannot be resynchronised.
    public mutating func next() throws(FrameError) -> Frame? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .waitingForHeaderLength:
                guard bufferedByteCount >= 2 else { return nil }
                let length = FrameEncoder.announcedHeaderLength(buffer[readIndex...])
                readIndex += 2
                if length == 0 { return try fail(.emptyHeader) }
                state = .waitingForHeader(length: length)
            case .waitingForHeader(let length):
                guard bufferedByteCount >= length else { return nil }
                let limit = maximumContentLength
                let start = readIndex
                let parsed = buffer.withUnsafeBytes { raw in
                    Result { () throws(FrameError) in
                        try FrameHeader(
                            validating: UnsafeRawBufferPointer(rebasing: raw[start..<start + length]),
                            maximumContentLength: limit
                        )
                    }
                }
                switch parsed {
                case .success(let header):
                    readIndex += length
                    state = .waitingForContent(header, headerLength: length)
                case .failure(let error):
                    return try fail(error)
                }
            case .waitingForContent(let header, let headerLength):
                guard bufferedByteCount >= header.contentLength else { return nil }
                let content = Array(buffer[readIndex..<readIndex + header.contentLength])
                readIndex += header.contentLength
                lastHeaderLength = headerLength
                state = .waitingForHeaderLength
                return Frame(header: header, content: content)
            }
        }
    }

    /// `feed(bytes)` then `next()`, without the copy into the decoder when nothing is buffered: a message that
    /// arrives whole in one read (the guide's every request) is decoded straight from the caller's bytes, its
    /// content copied once, and only bytes after it are kept. Same results and errors as feed + next.
    public mutating func next(feeding bytes: UnsafeRawBufferPointer) throws(FrameError) -> Frame? {
        guard case .waitingForHeaderLength = state, bufferedByteCount == 0, bytes.count >= 2 else {
            feed(bytes)
            return try next()
        }
        let length = FrameEncoder.announcedHeaderLength(bytes)
        guard length > 0, bytes.count >= 2 + length else {
            feed(bytes)
            return try next()
        }
        let header: FrameHeader
        do {
            header = try FrameHeader(
                validating: UnsafeRawBufferPointer(rebasing: bytes[2..<2 + length]),
                maximumContentLength: maximumContentLength
            )
        } catch {
            return try fail(error)
        }
        let contentStart = 2 + length
        let contentEnd = contentStart + header.contentLength
        guard bytes.count >= contentEnd else {
            // The content is still coming: keep what arrived of it, as next() would have.
            feed(UnsafeRawBufferPointer(rebasing: bytes[contentStart...]))
            state = .waitingForContent(header, headerLength: length)
            return nil
        }
        if contentEnd < bytes.count { feed(UnsafeRawBufferPointer(rebasing: bytes[contentEnd...])) }
        lastHeaderLength = length
        return Frame(header: header, content: Array(UnsafeRawBufferPointer(rebasing: bytes[contentStart..<contentEnd])))
    }

    /// Call at end of stream: throws `.truncated` if the stream stopped inside a message.
    public func finish() throws(FrameError) {
        // What the current message consumed is known from the state: the prefix, then the header.
        switch state {
        case .failed(let error):
            throw error
        case .waitingForHeaderLength:
            if bufferedByteCount == 1 { throw .truncated(received: 1, expected: 2, stage: .lengthPrefix) }
            if bufferedByteCount >= 2 {
                // next() was not called since the last frame; the prefix is all there.
                let length = FrameEncoder.announcedHeaderLength(buffer[readIndex...])
                throw .truncated(received: bufferedByteCount, expected: nil, stage: .header(length: length))
            }
        case .waitingForHeader(let length):
            throw .truncated(received: 2 + bufferedByteCount, expected: nil, stage: .header(length: length))
        case .waitingForContent(let header, let headerLength):
            throw .truncated(
                received: 2 + headerLength + bufferedByteCount,
                expected: 2 + headerLength + header.contentLength,
                stage: .content
            )
        }
    }

    private mutating func fail(_ error: FrameError) throws(FrameError) -> Frame? {
        state = .failed(error)
        throw error
    }

    /// Drops consumed bytes once they are the larger part of the buffer, so memory tracks what is pending.
    private mutating func compactIfWorthIt() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
