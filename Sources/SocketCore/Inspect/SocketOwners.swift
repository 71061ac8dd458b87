// SocketOwners.swift -- lsof's half of the `sockets` table: which process holds each socket, through
// which descriptor, as which user. A socket is matched to a process by its inode ("socket:[N]").

/// One descriptor through which a process holds a socket: lsof's COMMAND, PID, USER and FD columns.
public struct SocketOwner: Sendable, Equatable {
    /// The process's name (/proc/PID/comm, at most 15 characters; lsof shows the first 9).
    public var command: String
    public var pid: Int32
    /// The login name of the process's effective uid, or the number when it has none.
    public var user: String
    public var descriptor: Int32
    /// lsof's access mode letter: "r" read, "w" write, "u" both.
    public var access: String

    public init(command: String, pid: Int32, user: String, descriptor: Int32, access: String) {
        self.command = command
        self.pid = pid
        self.user = user
        self.descriptor = descriptor
        self.access = access
    }

    /// lsof's FD column: "3u".
    public var fdColumn: String { "\(descriptor)\(access)" }
}

/// Finds the owners of sockets by reading /proc/PID/fd.
public enum SocketOwners {
    /// The holders of each inode in `inodes`, in order of pid then descriptor.
    ///
    /// - Parameter pid: Read only this process (for `--pid`); nil reads every process it may.
    public static func find(_ inodes: Set<UInt64>, pid: Int32? = nil) -> [UInt64: [SocketOwner]] {
        var owners: [UInt64: [SocketOwner]] = [:]
        guard !inodes.isEmpty else { return owners }
        var users: [UInt32: String] = [:]
        for process in pid.map({ [$0] }) ?? ProcessTable.processIDs().sorted() {
            guard let descriptors = ProcessTable.socketDescriptors(of: process) else { continue }
            let held = descriptors.filter { inodes.contains($0.inode) }
            guard !held.isEmpty else { continue }
            let command = commandName(of: process)
            let uid = effectiveUID(of: process)
            let user =
                uid.map { id in
                    if let known = users[id] { return known }
                    let name = ProcessTable.userName(of: id) ?? String(id)
                    users[id] = name
                    return name
                } ?? "?"
            for (descriptor, inode) in held.sorted(by: { $0.descriptor < $1.descriptor }) {
                let owner = SocketOwner(
                    command: command,
                    pid: process,
                    user: user,
                    descriptor: descriptor,
                    access: accessMode(of: process, descriptor: descriptor)
                )
                owners[inode, default: []].append(owner)
            }
        }
        return owners
    }

    /// /proc/PID/comm without its newline.
    static func commandName(of pid: Int32) -> String {
        guard let line = ProcFiles.lines("/proc/\(pid)/comm")?.first else { return "?" }
        return ByteNotation.escapeForLog(String(line), limit: 32)
    }

    /// The effective uid from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs"), the owner lsof shows.
    static func effectiveUID(of pid: Int32) -> UInt32? {
        guard let line = ProcFiles.lines("/proc/\(pid)/status")?.first(where: { $0.hasPrefix("Uid:") }) else {
            return nil
        }
        let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
        return fields.count > 2 ? UInt32(fields[2]) : nil
    }

    /// "r", "w" or "u" from the open flags in /proc/PID/fdinfo/FD ("flags:\t02004002", octal).
    static func accessMode(of pid: Int32, descriptor: Int32) -> String {
        guard let line = ProcFiles.lines("/proc/\(pid)/fdinfo/\(descriptor)")?.first(where: { $0.hasPrefix("flags:") }),
            let flags = Int(line.dropFirst(6).trimmingSpaces(), radix: 8)
        else { return "u" }
        switch flags & 3 {
        case 0: return "r"
        case 1: return "w"
        default: return "u"
        }
    }
}

extension Substring {
    /// Without spaces and tabs at either end.
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
