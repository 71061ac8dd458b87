// TimerAndHistogramTests.swift -- the latency histogram's percentiles, and number formatting.
import SocketCore
import Testing

@Suite struct HistogramTests {
    @Test func percentilesWithinThreePercent() {
        var histogram = LatencyHistogram()
        for value in 1...100_000 { histogram.record(UInt64(value) * 1000) }
        for (percent, exact) in [(50.0, 50_000_000.0), (90.0, 90_000_000.0), (99.0, 99_000_000.0)] {
            let measured = Double(histogram.percentile(percent))
            #expect(abs(measured - exact) / exact < 1.0 / 32 + 1e-9, "p\(percent): \(measured)")
        }
        #expect(histogram.percentile(100) == 100_000_000)
        #expect(histogram.count == 100_000)
        #expect(histogram.minimum == 1000)
    }

    @Test func smallValuesAreExact() {
        var histogram = LatencyHistogram()
        for value in [3, 3, 7, 63] { histogram.record(UInt64(value)) }
        #expect(histogram.percentile(50) == 3)
        #expect(histogram.percentile(75) == 7)
        #expect(histogram.percentile(100) == 63)
    }

    @Test func mergeAddsSamples() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        a.record(10)
        b.record(1_000_000)
        a.merge(b)
        #expect(a.count == 2)
        #expect(a.maximum == 1_000_000)
    }
}

@Suite struct NumberFormatTests {
    @Test func fixedPoint() {
        #expect(NumberFormat.fixed(3.14159, decimals: 2) == "3.14")
        #expect(NumberFormat.fixed(2.5, decimals: 0) == "3")
        #expect(NumberFormat.fixed(-0.05, decimals: 1) == "-0.1")
        #expect(NumberFormat.fixed(1, decimals: 3) == "1.000")
        #expect(NumberFormat.fixed(0.0001, decimals: 3) == "0.000")
    }

    @Test func groupedAndBytes() {
        #expect(NumberFormat.grouped(1_234_567) == "1,234,567")
        #expect(NumberFormat.grouped(999) == "999")
        #expect(NumberFormat.bytes(512) == "512 B")
        #expect(NumberFormat.bytes(1536) == "1.50 KiB")
        #expect(NumberFormat.bytes(4 << 20) == "4.00 MiB")
    }

    @Test func byteNotation() {
        #expect(ByteNotation.format(Array("Hello, world".utf8)) == "b'Hello, world'")
        // Python's quote: a ' and no " make it b"...", where ' needs no escape; with both, b'...' and \'.
        #expect(ByteNotation.format([0x27, 0x5C, 0x0A, 0x0D, 0x09, 0x00, 0x7F, 0xFF]) == #"b"'\\\n\r\t\x00\x7f\xff""#)
        #expect(ByteNotation.format([0x27, 0x22]) == #"b'\'"'"#)
        #expect(ByteNotation.format([UInt8](repeating: 65, count: 10), limit: 4) == "b'AAAA'... (10 bytes)")
        #expect(ByteNotation.escapeForLog("a\u{1B}[2Jb'ü") == #"a\x1b[2Jb'ü"#)
    }
}
