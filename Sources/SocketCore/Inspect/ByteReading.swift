// ByteReading.swift -- bounds-checked reads of integers out of bytes a kernel or a wire handed over.
// Every read returns nil past the end, so no malformed netlink reply or packet can trap a decoder.

extension ArraySlice<UInt8> {
    /// The byte at `offset` from the slice's start, or nil past its end.
    @inline(__always)
    func byte(at offset: Int) -> UInt8? {
        offset >= 0 && offset < count ? self[startIndex + offset] : nil
    }

    /// A big-endian (network order) 16-bit integer.
    func bigEndian16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        let base = startIndex + offset
        return UInt16(self[base]) << 8 | UInt16(self[base + 1])
    }

    /// A big-endian 32-bit integer.
    func bigEndian32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        let base = startIndex + offset
        var value: UInt32 = 0
        for index in 0..<4 { value = value << 8 | UInt32(self[base + index]) }
        return value
    }

    /// A little-endian integer of `width` bytes (1...8).
    func littleEndian(at offset: Int, width: Int) -> UInt64? {
        guard offset >= 0, width > 0, width <= 8, offset + width <= count else { return nil }
        let base = startIndex + offset
        var value: UInt64 = 0
        for index in (0..<width).reversed() { value = value << 8 | UInt64(self[base + index]) }
        return value
    }

    /// A host-order 16-bit integer (netlink's order).
    func native16(at offset: Int) -> UInt16? {
        guard let value = littleEndian(at: offset, width: 2) else { return nil }
        return isLittleEndianHost ? UInt16(value) : UInt16(value).byteSwapped
    }

    /// A host-order 32-bit integer.
    func native32(at offset: Int) -> UInt32? {
        guard let value = littleEndian(at: offset, width: 4) else { return nil }
        return isLittleEndianHost ? UInt32(value) : UInt32(value).byteSwapped
    }

    /// A host-order 64-bit integer.
    func native64(at offset: Int) -> UInt64? {
        guard let value = littleEndian(at: offset, width: 8) else { return nil }
        return isLittleEndianHost ? value : value.byteSwapped
    }

    /// `length` bytes from `offset`, or nil if they are not all there.
    func bytes(at offset: Int, count length: Int) -> ArraySlice<UInt8>? {
        guard offset >= 0, length >= 0, offset + length <= count else { return nil }
        return self[(startIndex + offset)..<(startIndex + offset + length)]
    }
}

extension [UInt8] {
    /// Appends a host-order integer (netlink requests are in the host's order).
    mutating func appendNative<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }

    /// Appends a big-endian integer.
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Appends a little-endian integer.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// True on x86 and ARM Linux; netlink structures use the host's order.
let isLittleEndianHost = 1.littleEndian == 1
