// Backend.swift -- which readiness API this run's event loops use: --backend where a server has it, else
// SOCKETTOOL_BACKEND, else poll. The command line reads the variable; the library takes the kind it is given.
import ArgumentParser
import SocketCore

enum Backend {
    /// The variable that picks the backend for every event loop of a run (`make test` sets it per pass).
    static let variable = "SOCKETTOOL_BACKEND"

    /// The backend a run uses without --backend: SOCKETTOOL_BACKEND when it is set and not empty, else poll.
    ///
    /// - Throws: `ValidationError` (usage, exit 64) when the variable names no backend: a typo must not
    ///   quietly run poll where epoll was asked for.
    static func fromEnvironment() throws -> SelectorKind {
        guard let value = Environment.value(variable), !value.isEmpty else { return .poll }
        guard let kind = SelectorKind(rawValue: value) else {
            let names = SelectorKind.allCases.map(\.rawValue).joined(separator: " or ")
            throw ValidationError("\(variable)='\(value)' is not a backend: set it to \(names), or unset it.")
        }
        return kind
    }
}
