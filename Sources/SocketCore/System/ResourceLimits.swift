// ResourceLimits.swift -- the descriptor limit (RLIMIT_NOFILE): read it, and raise it to the hard limit.
import Glibc

/// The process's descriptor limit.
public enum DescriptorLimit {
    /// The current soft limit: descriptors numbered at or above it cannot be opened.
    public static func current() -> Int {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return 1024 }
        return limit.rlim_cur > rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// Raises the soft limit to the hard limit where allowed (servers want every descriptor they may have).
    /// - Returns: The soft limit in effect afterwards.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return current() }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
        }
        return current()
    }

    /// How many descriptors are open now (entries in /proc/self/fd), for tests and diagnostics.
    public static func openCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1  // the directory stream's own descriptor
    }

    // Glibc imports RLIMIT_NOFILE as an enum case on some versions and as an Int32 on others.
    #if os(Linux)
    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #endif
}
