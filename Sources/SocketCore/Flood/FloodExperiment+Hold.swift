// FloodExperiment+Hold.swift -- `flood --hold`: keep the filled sockets open until Ctrl-C, so a learner can
// look at them with ss or netstat in another terminal and see the same numbers.

extension FloodExperiment {
    /// The `ss` command that lists both ends of the experiment's connection.
    public static func ssCommand(port: UInt16) -> String {
        "ss -tn '( sport = :\(port) or dport = :\(port) )'"
    }

    /// Blocks until SIGINT or SIGTERM arrives on `signals` (installed by the caller).
    ///
    /// - Returns: The signal.
    public static func waitForSignal(_ signals: SignalPipe) throws(SystemError) -> CInt {
        while true {
            _ = try Wait.until(nil, signals.pipe.readDescriptor, .readable)
            if let signal = signals.drain().first { return signal }
        }
    }
}
