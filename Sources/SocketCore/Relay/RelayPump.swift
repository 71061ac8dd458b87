// RelayPump.swift -- one direction of a relay: bytes from a source to a sink through one buffer.
//
// The rules of this file: the source is read only when the buffer is empty, so a direction holds at
// most one buffer of bytes, and a slow sink holds the source back (the kernel's buffers, then TCP's
// window, hold back the far end); a source that may block (a blocking pipe or terminal) is read only
// once per readiness event. No allocation per chunk.

/// One end of a pump.
enum RelayEnd {
    /// The relay's connection.
    case socket(Socket)
    /// The relay's UDP socket: one datagram per read and per write.
    case datagram(DatagramLink)
    /// stdin, stdout, or another descriptor the relay does not own.
    case stream(StreamDescriptor)
    /// Takes every byte and keeps none (`--send-only`: what the peer sends is read and dropped).
    case discard

    /// The descriptor to wait on; nil for `discard`, which never waits.
    var descriptor: CInt? {
        switch self {
        case .socket(let socket): socket.descriptor
        case .datagram(let link): link.socket.descriptor
        case .stream(let stream): stream.descriptor
        case .discard: nil
        }
    }

    /// True when a read may wait (a blocking pipe or terminal): read only once per readiness event.
    var readsMayBlock: Bool {
        if case .stream(let stream) = self { return stream.mayBlock }
        return false
    }

    @inline(__always)
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        switch self {
        case .socket(let socket): try socket.read(into: buffer)
        case .datagram(let link): try link.read(into: buffer)
        case .stream(let stream): try stream.read(into: buffer)
        case .discard: .processed(0)
        }
    }

    @inline(__always)
    func write(_ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        switch self {
        case .socket(let socket): try socket.write(buffer)
        case .datagram(let link): try link.write(buffer)
        case .stream(let stream): try stream.write(buffer)
        case .discard: .processed(buffer.count)
        }
    }
}

/// Copies a source to a sink until the source ends.
final class RelayPump {
    /// Why `run` returned.
    enum Stop: Equatable {
        /// The source has nothing now: wait until it is readable.
        case sourceWouldBlock
        /// The sink takes nothing now: wait until it is writable.
        case sinkWouldBlock
        /// The budget is spent and there may be more: run again next turn.
        case budgetSpent
        /// The source ended and everything read from it reached the sink.
        case ended
    }

    /// A failed read or write, and on which end.
    enum Failure: Error {
        case source(SystemError)
        case sink(SystemError)
    }

    let source: RelayEnd
    let sink: RelayEnd
    private let buffer: UnsafeMutableRawBufferPointer
    /// The bytes read and not yet written are buffer[head..<tail].
    private var head = 0
    private var tail = 0
    /// Bytes the source gave.
    private(set) var bytesRead = 0
    /// Bytes the sink took.
    private(set) var bytesWritten = 0
    /// The source said end of stream.
    private(set) var sourceEnded = false
    /// Shown each chunk as it was read from the source, with its stream offset (-x on received data).
    var onRead: ((UnsafeRawBufferPointer, Int) -> Void)?
    /// Shown each chunk as the sink took it, with its stream offset (-x on sent data).
    var onWrite: ((UnsafeRawBufferPointer, Int) -> Void)?

    init(from source: RelayEnd, to sink: RelayEnd, bufferSize: Int) {
        self.source = source
        self.sink = sink
        buffer = .allocate(byteCount: bufferSize, alignment: BufferAlignment.bytes)
    }

    deinit {
        buffer.deallocate()
    }

    /// Bytes read and not yet written.
    var pendingBytes: Int { tail - head }

    /// Moves bytes until the source or the sink would block, the source ends, or `budget` buffers have
    /// been read (so one fast direction cannot starve the other). A source that may block is read once:
    /// call this when it was ready.
    ///
    /// - Throws: `Failure` naming the end whose call failed; nothing is retried after one.
    func run(budget: Int) throws(Failure) -> Stop {
        let budget = source.readsMayBlock ? 1 : budget
        var reads = 0
        while true {
            if head == tail {
                if sourceEnded { return .ended }
                if reads == budget { return .budgetSpent }
                let result: IOResult<Int>
                do throws(SystemError) { result = try source.read(into: buffer) } catch { throw .source(error) }
                guard case .processed(let count) = result else { return .sourceWouldBlock }
                if count == 0 {
                    sourceEnded = true
                    return .ended
                }
                onRead?(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), bytesRead)
                bytesRead += count
                head = 0
                tail = count
                reads += 1
            }
            let result: IOResult<Int>
            do throws(SystemError) {
                result = try sink.write(UnsafeRawBufferPointer(rebasing: buffer[head..<tail]))
            } catch {
                throw .sink(error)
            }
            guard case .processed(let written) = result else { return .sinkWouldBlock }
            onWrite?(UnsafeRawBufferPointer(rebasing: buffer[head..<(head + written)]), bytesWritten)
            head += written
            bytesWritten += written
        }
    }
}

@available(*, unavailable)
extension RelayPump: Sendable {}
