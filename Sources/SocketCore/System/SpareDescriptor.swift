// SpareDescriptor.swift -- one descriptor held in reserve, to be given up when accept() fails with
// EMFILE (libev/libuv's trick): with it freed, the server can accept the waiting connection and close it,
// so the client gets an answer instead of hanging, and the listener stops reporting readable.
import Glibc

/// A descriptor on /dev/null, kept so that it can be released in an emergency.
public final class SpareDescriptor {
    private var descriptor: CInt = -1

    /// Opens the spare at once.
    public init() {
        reacquire()
    }

    deinit {
        release()
    }

    /// True while the spare is held.
    public var isHeld: Bool { descriptor >= 0 }

    /// Closes the spare, freeing one descriptor slot.
    public func release() {
        guard descriptor >= 0 else { return }
        closeDescriptor(descriptor)
        descriptor = -1
    }

    /// Opens the spare again (may fail quietly while descriptors are still exhausted; retried later).
    public func reacquire() {
        guard descriptor < 0 else { return }
        descriptor =
            (try? retryingInterrupts("open", detail: "/dev/null") { open("/dev/null", O_RDONLY | O_CLOEXEC) }) ?? -1
    }
}
