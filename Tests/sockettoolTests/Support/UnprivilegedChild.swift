// UnprivilegedChild.swift -- a child process as an ordinary user: CI runs as root, and root may do what a
// test must see refused (bind a port below 1024, for one).
import Foundation
import Glibc

extension ChildProcess {
    /// True when this test process is root, as in CI.
    static var isRoot: Bool { geteuid() == 0 }

    /// Starts `executable` as user nobody, group nogroup, with no supplementary groups (util-linux setpriv)
    /// when this process is root; as itself otherwise, which is already unprivileged. setpriv execs the
    /// program, so `pid` is the program's.
    convenience init(
        unprivileged executable: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    )
        throws
    {
        guard Self.isRoot else {
            try self.init(executable, arguments, environment: environment)
            return
        }
        try self.init(
            "setpriv",
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", try Self.reachableByNobody(executable)]
                + arguments,
            environment: environment
        )
    }

    /// Starts sockettool as an unprivileged user (see `init(unprivileged:_:environment:)`).
    convenience init(unprivilegedSockettool arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(unprivileged: ChildProcess.sockettool, arguments, environment: environment)
    }

    /// `path` if user nobody can execute it there (every directory above it searchable by others), else a
    /// copy of it in a temporary directory that is (a checkout under /root is not). The copy's name holds the
    /// original's size and modification time, so a rebuilt binary gets a fresh copy and an unchanged one is
    /// copied once.
    private static func reachableByNobody(_ path: String) throws -> String {
        guard path.hasPrefix("/"), !isReachableByOthers(path) else { return path }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? Int) ?? 0
        let modified = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let folder = "/tmp/sockettool-tests-unprivileged"
        let copy = "\(folder)/\((path as NSString).lastPathComponent)-\(size)-\(modified)"
        if !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.createDirectory(
                atPath: folder,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755]
            )
            // Copied under a unique name and renamed into place, so parallel tests never run a half copy.
            let partial = "\(copy).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.copyItem(atPath: path, toPath: partial)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: partial)
            guard rename(partial, copy) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        }
        return copy
    }

    /// True if others may execute `path`: the file has o+x and every directory above it o+x.
    private static func isReachableByOthers(_ path: String) -> Bool {
        var current = path
        while current != "/" && !current.isEmpty {
            var info = stat()
            guard stat(current, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
            current = (current as NSString).deletingLastPathComponent
        }
        return true
    }
}
