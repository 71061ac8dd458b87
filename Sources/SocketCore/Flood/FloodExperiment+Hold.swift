// FloodExperiment+Hold.swift -- `flood --hold`: keep the filled sockets open until Ctrl-C, so a learner can
// look at them with ss or netstat in another terminal and see the same numbers.
import Glibc

extension FloodExperiment {
    /// The `ss` command that lists both ends of the experiment's connection.
    public static func ssCommand(port: UInt16) -> String {
        "ss -tn '( sport = :\(port) or dport = :\(port) )'"
    }

    /// Blocks until SIGINT or SIGTERM arrives on `signals` (installed by the caller).
    /// The corresponding C function is `poll(2)`; EINTR waits again.
    ///
    /// - Returns: The signal.
    public static func waitForSignal(_ signals: SignalPipe) throws(SystemError) -> CInt {
        while true {
            var entry = pollfd(fd: signals.pipe.readDescriptor, events: Int16(POLLIN), revents: 0)
            _ = try retryingInterrupts("poll") { poll(&entry, 1, -1) }
            if let signal = signals.drain().first { return signal }
        }
    }
}
