// Diagnosis+Relay.swift -- what to tell the user when a relay fails, or when this machine's own stdin
import SocketCore

// or stdout does.

extension Diagnosis {
    /// stdout closed or full, stdin unreadable: exit 74, and said to be local, so nobody blames the peer.
    static func localIO(_ error: LocalIOError) -> Diagnosis {
        let hint =
            error.direction == .output
            ? "the connection was fine: this machine could not take the output (a closed pipe or terminal, "
                + "a full disk, /dev/full). Redirect it somewhere that can take it."
            : "the connection was fine: this machine could not read its input. Check what stdin is."
        return Diagnosis(
            message: error.description,
            hint: hint,
            exitStatus: ExitStatus.ioError,
            kind: error.direction == .output ? "output_error" : "input_error"
        )
    }

    /// The connection failed or sat idle: the socket error's own diagnosis, with what was not sent.
    static func relay(_ error: RelayFailure, server: String) -> Diagnosis {
        switch error.cause {
        case .connection(let cause):
            var diagnosis = system(cause, server: server)
            diagnosis.message = error.description
            // A truncated transfer never exits 0, and never with a status that blames this machine.
            if diagnosis.exitStatus == ExitStatus.systemError { diagnosis.exitStatus = ExitStatus.failure }
            return diagnosis
        case .idle:
            return Diagnosis(
                message: error.description,
                hint: "nothing moved either way for --timeout; leave it out (or give 0) to wait as long as it takes.",
                exitStatus: ExitStatus.timedOut,
                kind: "timed_out"
            )
        }
    }
}
