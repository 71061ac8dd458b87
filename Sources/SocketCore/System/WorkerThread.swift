// WorkerThread.swift -- a plain POSIX thread running one closure, joined explicitly: the load generators
// run one reactor per thread, like loadgen's workers.
import Glibc

/// A thread that runs `body` once. Call `join()` before reading anything `body` wrote.
public final class WorkerThread: @unchecked Sendable {
    // @unchecked: `thread` is written once in init and read only by join() on the creating thread.
    private var thread = pthread_t()
    private var joined = false

    /// Starts the thread. The corresponding C function is `pthread_create(3)`.
    public init(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &thread,
            nil,
            { context in
                let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
                box.body()
                return nil
            },
            box
        )
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError(errno: Errno(rawValue: result), call: "pthread_create")
        }
    }

    /// Waits for the thread to finish. The corresponding C function is `pthread_join(3)`.
    public func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    deinit {
        precondition(joined, "WorkerThread dropped without join()")
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
