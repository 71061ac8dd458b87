// Processors.swift -- how many CPUs this process may run on, for sizing worker pools.
import Glibc

/// The machine's processors as the scheduler offers them.
public enum Processors {
    /// Processors online now (at least 1). The corresponding C function is `sysconf(3)`.
    public static func online() -> Int {
        max(1, sysconf(CInt(_SC_NPROCESSORS_ONLN)))
    }
}
