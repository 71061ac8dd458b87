// SignalPipe.swift -- signals turned into bytes on a pipe (the self-pipe trick), so an event loop can
// wait for them with poll() like for any socket, and nothing but write(2) runs in the signal handler.
import CSocketShim
import Glibc

/// The process's signal pipe. The handler (in C) writes the signal number; the loop reads it.
public final class SignalPipe: Sendable {
    /// The pipe; its read end is what a reactor watches.
    public let pipe: WakePipe

    /// The one pipe of this process, created on first use.
    public static let shared = SignalPipe()

    private init() {
        do {
            pipe = try WakePipe()
        } catch {
            preconditionFailure("cannot create the signal pipe: \(error)")
        }
    }

    /// Routes these signals into the pipe (instead of their default action).
    public func install(_ signals: [CInt]) {
        for signal in signals { _ = st_install_signal_pipe(signal, pipe.writeDescriptor) }
    }

    /// Gives these signals their default action back.
    public func uninstall(_ signals: [CInt]) {
        for signal in signals { _ = st_reset_signal(signal) }
    }

    /// The signal numbers that arrived since the last call (non-blocking; empty if none).
    public func drain() -> [CInt] {
        let signals = pipe.drain().map { CInt($0) }
        if !signals.isEmpty { st_signals_consumed(UInt32(signals.count)) }
        return signals
    }
}

/// The signals sockettool handles, by number, for code outside System/.
public enum SignalNumber {
    /// SIGINT (Ctrl-C).
    public static let interrupt: CInt = SIGINT
    /// SIGTERM.
    public static let terminate: CInt = SIGTERM
    /// SIGINT and SIGTERM: what ends a run early.
    public static let stopping: [CInt] = [SIGINT, SIGTERM]
}

/// "SIGINT", "SIGTERM", ...: the names the event lines and JSON use.
public func signalName(_ signal: CInt) -> String {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP"
    case SIGQUIT: "SIGQUIT"
    default: "signal \(signal)"
    }
}

/// Makes SIGPIPE harmless for the whole process: a write to a reset peer returns EPIPE instead of
/// killing the process. Call once at startup (Redis, NIO do the same).
public func ignoreBrokenPipeSignal() {
    st_ignore_sigpipe()
}
