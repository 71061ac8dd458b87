// ServiceManagerSettings.swift -- what the service manager (systemd, or systemd-socket-activate) told this
// process through its environment: passed sockets, where to send notifications, how often to ping the
// watchdog. Parsed from values the command line reads; nothing here reads the environment itself.

/// The service manager's variables, parsed.
public struct ServiceManagerSettings: Sendable, Equatable {
    /// Every variable the protocols use; the command line clears them after reading, so no process this one
    /// starts inherits them (sd_listen_fds(3) and sd_watchdog_enabled(3) with unset_environment).
    public static let variables = [
        "LISTEN_PID", "LISTEN_PIDFDID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC",
        "WATCHDOG_PID",
    ]

    /// The passed listening sockets; nil when the server binds its own.
    public var activation: SocketActivation?
    /// Where READY=1, STATUS=, STOPPING=1 and WATCHDOG=1 go; nil when nobody listens.
    public var notifySocket: NotifySocketAddress?
    /// $WATCHDOG_USEC: the manager restarts the service when no WATCHDOG=1 comes for this long.
    public var watchdogTimeout: Duration?
    /// Variables that were set but make no sense and are ignored (the server still runs).
    public var warnings: [String] = []

    /// No service manager: every server binds its own socket and notifies nobody.
    public static let none = ServiceManagerSettings()

    /// Settings given directly (tests, and `none`).
    public init(
        activation: SocketActivation? = nil,
        notifySocket: NotifySocketAddress? = nil,
        watchdogTimeout: Duration? = nil
    ) {
        self.activation = activation
        self.notifySocket = notifySocket
        self.watchdogTimeout = watchdogTimeout
    }

    /// Parses the variables `value` returns (nil for unset).
    ///
    /// - Parameter processID: This process's id: LISTEN_PID and WATCHDOG_PID must name it.
    /// - Throws: `SocketActivationError` when the sockets passed to this process cannot be understood; the
    ///   server must not bind a socket of its own instead of the one its unit configured.
    public init(value: (String) -> String?, processID: Int32) throws(SocketActivationError) {
        activation = try SocketActivation(
            listenPID: value("LISTEN_PID"),
            listenFDs: value("LISTEN_FDS"),
            listenFDNames: value("LISTEN_FDNAMES"),
            processID: processID
        )
        if let text = value("NOTIFY_SOCKET"), !text.isEmpty {
            notifySocket = NotifySocketAddress(text)
            if notifySocket == nil {
                warnings.append(
                    "NOTIFY_SOCKET='\(ByteNotation.escapeForLog(text, limit: 120))' is not an AF_UNIX socket path "
                        + "or @name: not notifying the service manager"
                )
            }
        }
        if let text = value("WATCHDOG_USEC") {
            let pid = value("WATCHDOG_PID")
            if let microseconds = UInt64(text), microseconds > 0 {
                // WATCHDOG_PID set for another process (a parent's): the watchdog is not ours to feed.
                if pid.map({ Int32($0) == processID }) ?? true {
                    watchdogTimeout = .microseconds(Int64(clamping: microseconds))
                }
            } else {
                warnings.append(
                    "WATCHDOG_USEC='\(ByteNotation.escapeForLog(text, limit: 60))' is not a number of "
                        + "microseconds: no watchdog pings"
                )
            }
        }
    }

    /// How often to send WATCHDOG=1: half the timeout, as sd_watchdog_enabled(3) advises.
    public var watchdogInterval: Duration? {
        watchdogTimeout.map { .nanoseconds(Int64(clamping: $0.nanoseconds / 2)) }
    }
}
