// Netlink.swift -- netlink's framing (struct nlmsghdr, struct rtattr): requests written and replies split,
// as pure functions over bytes. The kernel's replies are trusted no more than a peer's bytes.

/// Netlink messages and their attributes.
enum Netlink {
    /// NLMSG_ERROR: the payload starts with a negative errno (0 is an acknowledgement).
    static let errorType: UInt16 = 2
    /// NLMSG_DONE: the end of a dump.
    static let doneType: UInt16 = 3
    /// NLM_F_REQUEST | NLM_F_DUMP (NLM_F_ROOT | NLM_F_MATCH): "every socket you have".
    static let dumpRequestFlags: UInt16 = 0x0001 | 0x0300
    /// sizeof(struct nlmsghdr).
    static let headerLength = 16

    /// One message of a datagram.
    struct Message: Equatable {
        var type: UInt16
        var flags: UInt16
        var sequence: UInt32
        /// The bytes after the header (the message's own length, without alignment padding).
        var payload: ArraySlice<UInt8>
    }

    /// A request: header, then `payload`.
    static func request(type: UInt16, flags: UInt16, sequence: UInt32, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendNative(UInt32(headerLength + payload.count))
        bytes.appendNative(type)
        bytes.appendNative(flags)
        bytes.appendNative(sequence)
        bytes.appendNative(UInt32(0))  // nlmsg_pid 0: the kernel fills in our port id
        bytes += payload
        return bytes
    }

    /// The messages of one datagram; stops at the first one whose length does not fit.
    static func messages(in datagram: ArraySlice<UInt8>) -> [Message] {
        var messages: [Message] = []
        var offset = 0
        while let length = datagram.native32(at: offset).map(Int.init), length >= headerLength,
            let type = datagram.native16(at: offset + 4), let flags = datagram.native16(at: offset + 6),
            let sequence = datagram.native32(at: offset + 8),
            let payload = datagram.bytes(at: offset + headerLength, count: length - headerLength)
        {
            messages.append(Message(type: type, flags: flags, sequence: sequence, payload: payload))
            offset += aligned(length)
        }
        return messages
    }

    /// The attributes (struct rtattr: length, type, value) that follow a fixed-size part; stops at the first
    /// malformed one.
    static func attributes(in bytes: ArraySlice<UInt8>) -> [(type: UInt16, value: ArraySlice<UInt8>)] {
        var attributes: [(type: UInt16, value: ArraySlice<UInt8>)] = []
        var offset = 0
        while let length = bytes.native16(at: offset).map(Int.init), length >= 4,
            let type = bytes.native16(at: offset + 2), let value = bytes.bytes(at: offset + 4, count: length - 4)
        {
            // The top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER, not part of the type.
            attributes.append((type & 0x3FFF, value))
            offset += aligned(length)
        }
        return attributes
    }

    /// NLMSG_ALIGN / RTA_ALIGN: lengths round up to 4 bytes.
    static func aligned(_ length: Int) -> Int { (length + 3) & ~3 }
}
