// UnixSocketFile.swift -- the file a Unix domain socket server binds: a stale one (nothing listening) is
// removed first, anything else at the path is left alone, and the server's own file goes when it stops
// listening or the process exits (atexit, so the drain after SIGINT/SIGTERM and a second signal's exit
// both remove it).
import Glibc
import Synchronization

/// Why a Unix socket path cannot be listened on.
public enum UnixSocketPathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A server is listening there already (a connect succeeded).
    case inUse(String)
    /// Something other than a socket is at the path: a server never replaces it.
    case notASocket(String)
    /// Longer than sun_path holds, or empty.
    case badPath(String)

    public var path: String {
        switch self {
        case .inUse(let path), .notASocket(let path), .badPath(let path): path
        }
    }

    public var description: String {
        switch self {
        case .inUse(let path): "bind(\(path)): a server is already listening on this socket"
        case .notASocket(let path): "bind(\(path)): the path exists and is not a socket; it is left as it is"
        case .badPath(let path):
            "'\(path)' cannot be a Unix socket path: 1 to \(SocketAddress.maximumUnixPathLength) bytes, no NUL"
        }
    }
}

/// The socket files this process bound, removed when their listener closes or the process exits.
public enum UnixSocketFile {
    /// Path -> (device, inode) of the socket file bound there, so only our own file is ever removed.
    private static let owned = Mutex<[String: FileIdentity]>([:])
    private static let exitHook = Mutex(false)

    struct FileIdentity: Sendable, Equatable {
        let device: UInt64
        let inode: UInt64
    }

    /// Clears the way for a bind at `path`: nothing there, or a stale socket (a connect is refused), which is
    /// removed. The corresponding C functions are `lstat(2)`, `connect(2)` and `unlink(2)`.
    ///
    /// - Throws: `UnixSocketPathError.inUse` when a server answers there, `.notASocket` for any other file.
    static func prepare(_ address: SocketAddress) throws(UnixSocketPathError) {
        guard let path = address.unixPath else { return }
        var status = stat()
        guard lstat(path, &status) == 0 else { return }  // nothing there (or nothing we may look at: bind says)
        guard status.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
        if isListening(address) { throw .inUse(path) }
        unlink(path)
    }

    /// True when a connect to the socket at `address` is answered (or the server's queue is full: EAGAIN).
    private static func isListening(_ address: SocketAddress) -> Bool {
        guard let probe = try? Socket(family: AF_UNIX) else { return false }
        defer { probe.close() }
        do {
            // A Unix connect completes or fails at once: no handshake to wait for.
            _ = try probe.connect(to: address)
            return true
        } catch {
            return error.errno == .wouldBlock
        }
    }

    /// Records the file `bind` just made at `address` as this process's own, to remove later.
    static func adopt(_ address: SocketAddress) {
        guard let path = address.unixPath, let identity = identity(of: path) else { return }
        owned.withLock { $0[path] = identity }
        let install = exitHook.withLock { installed in
            defer { installed = true }
            return !installed
        }
        if install { atexit { UnixSocketFile.removeAll() } }
    }

    /// Removes the socket file at `address` if this process bound it and it is still that file.
    public static func remove(_ address: SocketAddress) {
        guard let path = address.unixPath else { return }
        guard let identity = owned.withLock({ $0.removeValue(forKey: path) }) else { return }
        if Self.identity(of: path) == identity { unlink(path) }
    }

    /// Every file still owned: at exit.
    static func removeAll() {
        let files = owned.withLock { files in
            defer { files.removeAll() }
            return files
        }
        for (path, identity) in files where Self.identity(of: path) == identity { unlink(path) }
    }

    private static func identity(of path: String) -> FileIdentity? {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
