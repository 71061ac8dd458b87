// Failure.swift -- turns a runtime error into one line, a hint and the documented exit status.
import ArgumentParser
import SocketCore

/// Runs a command's body; a failure is printed with its hint and becomes the exit status of its class.
///
/// - Parameters:
///   - server: The command that starts the server a client command talks to (the refused hint names it).
///   - results: Where a client writes its results (stdout): if any of them could not be written, the
///     command failed, whatever else went well (exit 74).
///   - refine: Lets a command give a more specific hint for an error it knows more about.
func reportingFailures(
    _ log: EventLog,
    server: String = "sockettool serve app HOST PORT",
    results: OutputBuffer? = nil,
    refine: (any Error, Diagnosis) -> Diagnosis = { $1 },
    _ body: () throws -> Void
) throws {
    do {
        try body()
        log.flush()
        if let results, let failure = results.failure {
            throw LocalIOError(.output, stream: "stdout", errno: failure)
        }
    } catch let exit as ExitCode {
        log.flush()
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch {
        let diagnosis = refine(error, Diagnosis(error, server: server))
        log.flush()
        log.error(diagnosis.message, hint: diagnosis.hint, fields: [("kind", .string(diagnosis.kind))])
        log.flush()
        throw ExitCode(diagnosis.exitStatus)
    }
}
