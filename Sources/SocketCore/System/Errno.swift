// Errno.swift -- errno values with Swift names (swift-system's words), and their text.
//
// Code outside System/ names errno values only through these; inside, only the funnels (Syscall.swift,
// Wait.swift) and connect's EINPROGRESS spell the C constants.
import Glibc

/// An error number reported by a system call.
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw C error number.
    public let rawValue: CInt

    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The system's text for this error, e.g. "Connection refused". The corresponding C function is `strerror(3)`.
    public var description: String { String(cString: strerror(rawValue)) }

    /// The C name of this error, e.g. "ECONNREFUSED", for logs and JSON; "errno N" when unnamed here.
    public var name: String { Errno.names[rawValue] ?? "errno \(rawValue)" }

    /// EAGAIN / EWOULDBLOCK (equal on Linux).
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    /// EINTR.
    public static let interrupted = Errno(rawValue: EINTR)
    /// EINPROGRESS.
    public static let nowInProgress = Errno(rawValue: EINPROGRESS)
    /// ECONNREFUSED.
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    /// ECONNRESET.
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    /// ECONNABORTED.
    public static let connectionAborted = Errno(rawValue: ECONNABORTED)
    /// EPIPE.
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// ETIMEDOUT.
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// EHOSTUNREACH.
    public static let hostUnreachable = Errno(rawValue: EHOSTUNREACH)
    /// ENETUNREACH.
    public static let networkUnreachable = Errno(rawValue: ENETUNREACH)
    /// EADDRINUSE.
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
    /// EADDRNOTAVAIL.
    public static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)
    /// EACCES.
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// EMFILE: this process has no descriptor left.
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    /// ENFILE: the system has no descriptor left.
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    /// ENOBUFS.
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)
    /// ENOMEM.
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// EBADF: a descriptor that is not open; always a bug here.
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// EFAULT: a bad pointer; always a bug here.
    public static let badAddress = Errno(rawValue: EFAULT)
    /// EINVAL.
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// ENOTCONN.
    public static let notConnected = Errno(rawValue: ENOTCONN)
    /// EPERM.
    public static let notPermitted = Errno(rawValue: EPERM)
    /// ENOENT: e.g. a Unix socket path with no file.
    public static let noSuchFile = Errno(rawValue: ENOENT)
    /// ENOTDIR: e.g. a Unix socket path through a regular file.
    public static let notADirectory = Errno(rawValue: ENOTDIR)
    /// EAFNOSUPPORT: e.g. IPv6 on a host without it.
    public static let addressFamilyNotSupported = Errno(rawValue: EAFNOSUPPORT)

    /// Errors accept(2) passes on from a pending connection (not from the listener): the connection is
    /// gone and the next accept may succeed.
    public var isPendingConnectionFailure: Bool {
        [ECONNABORTED, EPERM, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH]
            .contains(rawValue)
    }

    private static let names: [CInt: String] = [
        EAGAIN: "EAGAIN", EINTR: "EINTR", EINPROGRESS: "EINPROGRESS", ECONNREFUSED: "ECONNREFUSED",
        ECONNRESET: "ECONNRESET", ECONNABORTED: "ECONNABORTED", EPIPE: "EPIPE", ETIMEDOUT: "ETIMEDOUT",
        EHOSTUNREACH: "EHOSTUNREACH", ENETUNREACH: "ENETUNREACH", EADDRINUSE: "EADDRINUSE",
        EADDRNOTAVAIL: "EADDRNOTAVAIL", EACCES: "EACCES", EMFILE: "EMFILE", ENFILE: "ENFILE", ENOBUFS: "ENOBUFS",
        ENOMEM: "ENOMEM", EBADF: "EBADF", EFAULT: "EFAULT", EINVAL: "EINVAL", ENOTCONN: "ENOTCONN", EPERM: "EPERM",
        EAFNOSUPPORT: "EAFNOSUPPORT", ENOENT: "ENOENT", EISCONN: "EISCONN", EALREADY: "EALREADY",
        ENOSPC: "ENOSPC", EIO: "EIO", EDQUOT: "EDQUOT", EFBIG: "EFBIG", EROFS: "EROFS", EMSGSIZE: "EMSGSIZE",
    ]
}
