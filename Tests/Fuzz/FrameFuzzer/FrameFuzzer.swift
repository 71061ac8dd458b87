// FrameFuzzer.swift -- libFuzzer entry point for the framing decoder, header validator, JSON parser and
// serve app's bounded answers (AppAnswer), and for trace's packet decoder (each link type), capture-file
// reader and sock_diag parser. The first byte picks one decoder and the rest is its input, so each
// execution costs one decoder's checks, not all eleven (FuzzCorpusTests runs all of them on every file).
// `make fuzz` seeds it with each corpus file behind each mode byte; a crash file copied into Tests/Fuzz/corpus
// drops its first byte.
// Built only by `make fuzz` (SOCKETTOOL_FUZZ=1 adds the target): libFuzzer brings its own main().
import SocketCore

/// The decoders, by the input's first byte modulo their count.
enum FuzzMode {
    static let count = 3 + PacketSelfCheck.linkTypes.count

    static func violation(mode: UInt8, in bytes: [UInt8]) -> String? {
        switch Int(mode) % count {
        case 0: FramingSelfCheck.violation(in: bytes).map { "framing property violated: \($0)" }
        case 1: PacketSelfCheck.captureFileViolation(in: bytes).map { "capture file property violated: \($0)" }
        case 2: PacketSelfCheck.netlinkViolation(in: bytes).map { "netlink property violated: \($0)" }
        case let link:
            PacketSelfCheck.frameViolation(in: bytes, linkType: PacketSelfCheck.linkTypes[link - 3]).map {
                "packet decoding property violated: \($0)"
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if let violation = FuzzMode.violation(mode: data[0], in: bytes) { fatalError(violation) }
    return 0
}
