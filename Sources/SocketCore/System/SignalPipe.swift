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
    ///
    /// - Parameter requests: Signals among them that ask for something (SIGUSR1: the stats) rather than an
    ///   end, so that two in a row never count as a stuck loop's second signal.
    public func install(_ signals: [CInt], requests: [CInt] = []) {
        for signal in signals {
            _ = st_install_signal_pipe(signal, pipe.writeDescriptor, requests.contains(signal) ? 1 : 0)
        }
    }

    /// Gives these signals their default action back.
    public func uninstall(_ signals: [CInt]) {
        for signal in signals { _ = st_reset_signal(signal) }
    }

    /// After an ending signal was read and acted on: the next one exits in the handler itself, with
    /// 128 + its number, whatever the loops are doing. For a server of several loops (`--workers`), where
    /// the loop that reads this pipe may be free while another is stuck (in a write to a stdout nobody
    /// reads) and holds what the reader would need to get out.
    public func exitOnNextEndingSignal() {
        st_signals_unconsume(1)
    }

    /// The signal numbers that arrived since the last call (non-blocking; empty if none).
    public func drain() -> [CInt] {
        let signals = pipe.drain().map { CInt($0) }
        let ends = signals.count { st_signal_is_request($0) == 0 }
        if ends > 0 { st_signals_consumed(UInt32(ends)) }
        return signals
    }
}

/// The signals sockettool handles, by number, for code outside System/.
public enum SignalNumber {
    /// SIGINT (Ctrl-C).
    public static let interrupt: CInt = SIGINT
    /// SIGTERM.
    public static let terminate: CInt = SIGTERM
    /// SIGHUP: the terminal went away, or an operator's `kill -HUP`; servers drain as for SIGTERM.
    public static let hangup: CInt = SIGHUP
    /// SIGUSR1: a server prints its stats line (as dd prints its progress).
    public static let stats: CInt = SIGUSR1
    /// SIGINT and SIGTERM: what ends a run early.
    public static let stopping: [CInt] = [SIGINT, SIGTERM]
    /// What ends a server gracefully: SIGINT, SIGTERM, SIGHUP.
    public static let draining: [CInt] = [SIGINT, SIGTERM, SIGHUP]
}

/// "SIGINT", "SIGTERM", ...: the names the event lines and JSON use.
public func signalName(_ signal: CInt) -> String {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP"
    case SIGQUIT: "SIGQUIT"
    case SIGUSR1: "SIGUSR1"
    default: "signal \(signal)"
    }
}

/// Makes SIGPIPE harmless for the whole process: a write to a reset peer returns EPIPE instead of
/// killing the process. Call once at startup (Redis, NIO do the same).
public func ignoreBrokenPipeSignal() {
    st_ignore_sigpipe()
}
