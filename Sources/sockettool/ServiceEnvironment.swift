// ServiceEnvironment.swift -- the service manager's variables (systemd, systemd-socket-activate): read once
// at start, before any thread, and cleared so no process the server starts inherits them.
import SocketCore

enum ServiceEnvironment {
    /// Reads and clears LISTEN_*, NOTIFY_SOCKET and WATCHDOG_*; warns about values it ignores.
    ///
    /// - Parameters: `processID`, `reading` and `clearing` are this process's own unless a test says otherwise.
    /// - Throws: `SocketActivationError` when sockets were passed to this process in a way it cannot use.
    static func take(
        log: EventLog,
        processID: Int32 = Environment.processID,
        reading: (String) -> String? = Environment.value,
        clearing: ([String]) -> Void = Environment.unset
    ) throws -> ServiceManagerSettings {
        defer { clearing(ServiceManagerSettings.variables) }
        let settings = try ServiceManagerSettings(value: reading, processID: processID)
        for warning in settings.warnings { log.warning(warning, fields: [("reason", .string("environment"))]) }
        return settings
    }

    /// The passed listening socket, checked and adopted, or nil when the server binds its own; a notice
    /// when HOST or PORT was given too, since the unit's socket wins.
    ///
    /// - Parameter families: What the server serves: TCP over IPv4 and IPv6, and a Unix stream socket
    ///   (`ListenStream=/run/app.sock`) for every server that has `--unix`; flood's receiver watches TCP's
    ///   queues and takes IP only.
    static func listener(
        _ settings: ServiceManagerSettings,
        families: [CInt] = [AddressFamily.ipv4, AddressFamily.ipv6, AddressFamily.unix],
        blocking: Bool = false,
        endpointGiven: Bool,
        log: EventLog
    ) throws -> Socket? {
        guard let activation = settings.activation else { return nil }
        let socket = try activation.listener(families: families, blocking: blocking)
        if endpointGiven {
            let address =
                (try? socket.localAddress()).map { "\($0)" } ?? "descriptor \(SocketActivation.firstDescriptor)"
            log.notice("socket activation: serving on the passed socket (\(address)); HOST and PORT are not used")
        }
        return socket
    }
}
