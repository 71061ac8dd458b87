// FrameFuzzer.swift -- libFuzzer entry point for the framing decoder, header validator, JSON parser and
// serve app's bounded answers (AppAnswer), and for trace's packet decoder, capture-file reader and sock_diag
// parser (every input goes through all).
// Built only by `make fuzz` (SOCKETTOOL_FUZZ=1 adds the target): libFuzzer brings its own main().
import SocketCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let violation = FramingSelfCheck.violation(in: bytes) {
        fatalError("framing property violated: \(violation)")
    }
    if let violation = PacketSelfCheck.violation(in: bytes) {
        fatalError("packet decoding property violated: \(violation)")
    }
    return 0
}
