// ProcessTable.swift -- who holds which socket: /proc/PID/fd, the links lsof reads ("socket:[4711]"), and
// user names for uids. Without root, other users' processes cannot be read; they are skipped, as lsof does.
import Glibc

/// The processes of this machine, as /proc shows them.
public enum ProcessTable {
    /// Every process ID listed in /proc (a process may be gone by the time it is read).
    /// The corresponding C functions are `opendir(3)` and `readdir(3)`.
    public static func processIDs() -> [Int32] {
        entries(of: "/proc").compactMap { Int32($0) }
    }

    /// The socket descriptors of `pid` and the inode of each socket, or nil when /proc/PID/fd cannot be
    /// read (another user's process without root, or it exited). The corresponding C function is `readlink(2)`.
    public static func socketDescriptors(of pid: Int32) -> [(descriptor: Int32, inode: UInt64)]? {
        let directory = "/proc/\(pid)/fd"
        guard access(directory, R_OK | X_OK) == 0 else { return nil }
        var sockets: [(descriptor: Int32, inode: UInt64)] = []
        var target = [CChar](repeating: 0, count: 64)
        for name in entries(of: directory) {
            guard let descriptor = Int32(name) else { continue }
            let count = readlink(directory + "/" + name, &target, target.count - 1)
            guard count > 9 else { continue }
            let link = String(decoding: target[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "socket:[4711]": the inode sock_diag reports for the same socket.
            guard link.hasPrefix("socket:["), link.hasSuffix("]"),
                let inode = UInt64(link.dropFirst(8).dropLast())
            else { continue }
            sockets.append((descriptor, inode))
        }
        return sockets
    }

    /// The login name of `uid`, or nil when it has none. The corresponding C function is `getpwuid_r(3)`.
    public static func userName(of uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    /// The names in a directory, without "." and "..".
    private static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
