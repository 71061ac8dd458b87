// Diagnosis.swift -- every failure turned into what a learner needs: one line saying what failed, a hint
// they can act on (the guide's Troubleshooting and Errors sections, built in), and a documented exit code.
// The library throws typed failures; only the command line decides how they read and how the process exits.
import SocketCore

/// What to tell the user about a failure, and how the process exits.
struct Diagnosis: Sendable, Equatable {
    /// One line: what failed, on what, why.
    var message: String
    /// What the user can do about it.
    var hint: String?
    /// The process's exit status (see `ExitStatus`).
    var exitStatus: Int32
    /// A stable name for scripts (the JSON "error" event's "kind").
    var kind: String

    /// Diagnoses any error sockettool throws.
    ///
    /// - Parameter server: The command that starts the server this client talks to, for the hint of a
    ///   refused connection (a learner who follows it must get a server that speaks the client's protocol).
    init(_ error: any Error, server: String = "sockettool serve app HOST PORT") {
        switch error {
        case let error as SystemError: self = Diagnosis.system(error, server: server)
        case let error as ResolutionError:
            self.init(
                message: "cannot resolve host '\(error.host)': \(error.reason)",
                hint: Self.hostPortHint(error.host)
                    ?? (error.isWrongFamily
                        ? "-4 and -6 keep one IP family: drop the flag, or give the other one"
                        : nil)
                        ?? (error.isTemporary
                            ? "the resolver did not answer: check the network and DNS (/etc/resolv.conf), or give an IP address"
                            : "check the spelling, or give an IP address such as 127.0.0.1 or ::1"),
                exitStatus: ExitStatus.unknownHost,
                kind: "unknown_host"
            )
        case let error as ClientFailure: self = Diagnosis.client(error, server: server)
        case let error as PartialFailure:
            self.init(message: error.description, hint: nil, exitStatus: ExitStatus.failure, kind: "connections_failed")
        case let error as BindAddressError: self = Diagnosis.bindAddress(error)
        case let error as UnixSocketPathError:
            let hint =
                switch error {
                case .inUse:
                    "another server listens on that socket: stop it, or pick another path ('ss -lxp' lists them)."
                case .notASocket: "choose a path where no file is, or remove that file yourself if it is not needed."
                case .badPath: "use a shorter path."
                }
            self.init(message: error.description, hint: hint, exitStatus: ExitStatus.cannotListen, kind: "unix_path")
        case let error as EndpointError:
            self.init(message: error.message, hint: error.hint, exitStatus: error.exitStatus, kind: error.kind)
        case let error as LocalIOError: self = Diagnosis.localIO(error)
        case let error as RelayFailure: self = Diagnosis.relay(error, server: server)
        case let error as SocketActivationError:
            self.init(
                message: error.description,
                hint: "the service manager passed sockets this server cannot use: give the .socket unit one "
                    + "ListenStream= and Accept=no (docs/service.md), or unset LISTEN_PID and LISTEN_FDS to "
                    + "bind HOST PORT instead.",
                exitStatus: ExitStatus.cannotListen,
                kind: "socket_activation"
            )
        default:
            self.init(message: "\(error)", hint: nil, exitStatus: ExitStatus.failure, kind: "failure")
        }
    }

    /// "127.0.0.1:65432" given as the host: the guide writes (HOST, PORT), and so does sockettool.
    private static func hostPortHint(_ host: String) -> String? {
        hostWithPort(host).map { "host and port are separate arguments: '\($0.host) \($0.port)', not '\(host)'" }
    }

    /// "name:port" or "[v6]:port" split in two; nil for anything else, an IPv6 address included.
    static func hostWithPort(_ text: String) -> (host: Substring, port: Substring)? {
        guard let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") else { return nil }
        let name = text[..<colon]
        let port = text[text.index(after: colon)...]
        guard !name.isEmpty, !name.contains(":") || name.hasPrefix("["), !port.isEmpty,
            port.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        return (name.hasPrefix("[") && name.hasSuffix("]") ? name.dropFirst().dropLast() : name, port)
    }

    init(message: String, hint: String?, exitStatus: Int32, kind: String) {
        self.message = message
        self.hint = hint
        self.exitStatus = exitStatus
        self.kind = kind
    }

    static func system(_ error: SystemError, server: String) -> Diagnosis {
        let message = error.description
        let on = error.detail.isEmpty ? "" : " \(error.detail)"
        if ["connect", "bind", "listen"].contains(error.call), isUnixPath(error.detail),
            let diagnosis = unixSystem(error, server: server)
        {
            return diagnosis
        }
        switch error.errno {
        case .connectionRefused:
            return Diagnosis(
                message: message,
                hint: "nothing is listening \(error.detail.isEmpty ? "there" : "on \(error.detail)"): "
                    + "is the server running, on this port? "
                    + "Start one with '\(server)', or look with 'ss -ltn'. A firewall can refuse too.",
                exitStatus: ExitStatus.unavailable,
                kind: "connection_refused"
            )
        case .noSuchFile where error.call == "connect":
            return Diagnosis(
                message: message,
                hint: "no socket at\(on): is the server running, with this --unix path? Start one with '\(server)'.",
                exitStatus: ExitStatus.unavailable,
                kind: "connection_refused"
            )
        case .timedOut:
            return Diagnosis(
                message: message,
                hint:
                    "no answer from\(on): the host may be down, or a firewall drops the packets silently. Try 'ping'.",
                exitStatus: ExitStatus.timedOut,
                kind: "timed_out"
            )
        case .hostUnreachable, .networkUnreachable:
            return Diagnosis(
                message: message,
                hint: "no route to\(on): check the address, the network and the routes ('ip route', 'ping').",
                exitStatus: ExitStatus.unavailable,
                kind: "unreachable"
            )
        case .addressInUse:
            return Diagnosis(
                message: message,
                hint: "another process listens on that port: find it with 'ss -ltnp', pick another port, or use "
                    + "port 0 for a free one. (Old connections in TIME_WAIT block it only with --no-reuseaddr: "
                    + "'ss -tan state time-wait' lists them.)",
                exitStatus: ExitStatus.cannotListen,
                kind: "address_in_use"
            )
        case .addressNotAvailable:
            return Diagnosis(
                message: message,
                hint: "that address is not on any interface of this machine: use 127.0.0.1, 0.0.0.0, ::, "
                    + "or an address 'ip addr' lists.",
                exitStatus: ExitStatus.cannotListen,
                kind: "address_not_available"
            )
        case .permissionDenied where error.call == "bind":
            return Diagnosis(
                message: message,
                hint: "ports below 1024 need root or the CAP_NET_BIND_SERVICE capability: use a port of 1024 or more, "
                    + "or 'sudo setcap cap_net_bind_service=+ep $(command -v sockettool)'.",
                exitStatus: ExitStatus.permissionDenied,
                kind: "permission_denied"
            )
        case .permissionDenied, .notPermitted:
            return Diagnosis(
                message: message,
                hint: "the system refused: a firewall rule or missing privilege.",
                exitStatus: ExitStatus.permissionDenied,
                kind: "permission_denied"
            )
        case .connectionReset:
            return Diagnosis(
                message: message,
                hint:
                    "the peer reset the connection: it closed with unread data, crashed, or something in between cut it.",
                exitStatus: ExitStatus.failure,
                kind: "connection_reset"
            )
        case .brokenPipe:
            return Diagnosis(
                message: message,
                hint: "the peer closed the connection while data was still being sent to it.",
                exitStatus: ExitStatus.failure,
                kind: "broken_pipe"
            )
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
            return Diagnosis(
                message: message,
                hint: "out of file descriptors: raise the limit with 'ulimit -n', or use fewer connections.",
                exitStatus: ExitStatus.systemError,
                kind: "too_many_open_files"
            )
        case .addressFamilyNotSupported:
            return Diagnosis(
                message: message,
                hint: "this machine has no IPv6 (or no IPv4) for that address: try the other family.",
                exitStatus: ExitStatus.unavailable,
                kind: "family_not_supported"
            )
        default:
            return Diagnosis(
                message: message,
                hint: nil,
                exitStatus: ExitStatus.systemError,
                kind: error.errno.name.lowercased()
            )
        }
    }

    /// A call's detail that names an AF_UNIX path rather than "host:port": "/run/x.sock", "./x.sock",
    /// "@abstract", or a relative name without a port.
    static func isUnixPath(_ detail: String) -> Bool {
        guard !detail.isEmpty else { return false }
        if detail.hasPrefix("/") || detail.hasPrefix(".") || detail.hasPrefix("@") || detail.hasPrefix("~") {
            return true
        }
        return hostWithPort(detail) == nil && !detail.contains(":")
    }

    /// The errors whose TCP hints (ports, 'ss -ltn', firewalls) would mislead for a Unix socket path; nil
    /// for the rest, which read the same for both.
    private static func unixSystem(_ error: SystemError, server: String) -> Diagnosis? {
        let path = error.detail
        let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
        let listening = error.call == "bind" || error.call == "listen"
        switch error.errno {
        case .connectionRefused:
            return Diagnosis(
                message: error.description,
                hint: "nothing accepts on \(path): the file there is not a socket, or the server that made it has "
                    + "exited (a stale socket file). Start one with '\(server)', or look with 'ss -lx'.",
                exitStatus: ExitStatus.unavailable,
                kind: "connection_refused"
            )
        case .noSuchFile where listening, .notADirectory where listening:
            return Diagnosis(
                message: error.description,
                hint: "the directory \(directory.isEmpty ? "/" : directory) does not exist: create it "
                    + "('mkdir -p'), or choose a path in a directory that exists.",
                exitStatus: ExitStatus.cannotListen,
                kind: "no_such_directory"
            )
        case .permissionDenied, .notPermitted:
            return Diagnosis(
                message: error.description,
                hint: listening
                    ? "no permission to create a socket in \(directory.isEmpty ? "/" : directory): choose a "
                        + "directory you can write to, such as $XDG_RUNTIME_DIR or /tmp."
                    : "no permission to connect to \(path): the socket file's mode or its directory's keeps "
                        + "this user out ('ls -l').",
                exitStatus: ExitStatus.permissionDenied,
                kind: "permission_denied"
            )
        default:
            return nil
        }
    }

    private static func bindAddress(_ error: BindAddressError) -> Diagnosis {
        switch error {
        case .linkLocalWithoutScope(let host):
            return Diagnosis(
                message: error.description,
                hint: "add the interface after a %, as in '\(host)%eth0' ('ip -6 addr' lists them), "
                    + "or listen on :: for every interface.",
                exitStatus: ExitStatus.cannotListen,
                kind: "link_local_without_scope"
            )
        case .multicast, .broadcast:
            return Diagnosis(
                message: error.description,
                hint: "use 127.0.0.1, 0.0.0.0, ::, or an address 'ip addr' lists; groups and broadcast are for "
                    + "datagrams, not for TCP.",
                exitStatus: ExitStatus.cannotListen,
                kind: "not_unicast"
            )
        }
    }

    /// A client's failure: by the failed system call when there was one (its errno says the most), else by
    /// its kind.
    private static func client(_ error: ClientFailure, server: String) -> Diagnosis {
        if let cause = error.systemError {
            var diagnosis = system(cause, server: server)
            diagnosis.message = error.message
            return diagnosis
        }
        switch error.kind {
        case .timedOut:
            return Diagnosis(
                message: error.message,
                hint: "the peer is slow, stuck, or not speaking this protocol; raise --timeout if it is just slow.",
                exitStatus: ExitStatus.timedOut,
                kind: "timed_out"
            )
        case .mismatch:
            return Diagnosis(message: error.message, hint: nil, exitStatus: ExitStatus.failure, kind: "mismatch")
        case .protocolViolation:
            // A response over our own --max-content is our limit, not the server's fault.
            let overOurLimit = if case .contentTooLarge? = error.frameError { true } else { false }
            return Diagnosis(
                message: error.message,
                hint: overOurLimit
                    ? "the response is larger than this client accepts; raise --max-content if it is expected."
                    : "is the server speaking the guide's app protocol ('serve app')?",
                exitStatus: ExitStatus.failure,
                kind: "protocol_error"
            )
        case .closedEarly:
            return Diagnosis(message: error.message, hint: nil, exitStatus: ExitStatus.failure, kind: "closed_early")
        case .refused:
            return Diagnosis(
                message: error.message,
                hint: nil,
                exitStatus: ExitStatus.unavailable,
                kind: "connection_refused"
            )
        case .unreachable:
            return Diagnosis(message: error.message, hint: nil, exitStatus: ExitStatus.unavailable, kind: "unreachable")
        case .starved:
            return Diagnosis(
                message: error.message,
                hint:
                    "the server accepted the connection but did not serve it (one client at a time, a full backlog?).",
                exitStatus: ExitStatus.failure,
                kind: "no_bytes"
            )
        case .reset:
            return Diagnosis(
                message: error.message,
                hint: nil,
                exitStatus: ExitStatus.failure,
                kind: "connection_reset"
            )
        case .noDescriptors:
            return Diagnosis(
                message: error.message,
                hint: nil,
                exitStatus: ExitStatus.systemError,
                kind: "too_many_open_files"
            )
        case .other:
            return Diagnosis(message: error.message, hint: nil, exitStatus: ExitStatus.failure, kind: "failure")
        }
    }
}

/// sockettool's exit statuses, after sysexits.h. Documented in `sockettool --help` and docs/.
enum ExitStatus {
    /// Everything worked.
    static let success: Int32 = 0
    /// The exchange failed: bytes differ, a response is invalid or cut short, the peer reset or closed early.
    static let failure: Int32 = 1
    /// Bad flags or arguments (EX_USAGE, argument-parser's convention).
    static let usage: Int32 = 64
    /// A host name did not resolve (EX_NOHOST).
    static let unknownHost: Int32 = 68
    /// Connection refused, host or network unreachable (EX_UNAVAILABLE).
    static let unavailable: Int32 = 69
    /// Out of descriptors, or another system failure (EX_OSERR).
    static let systemError: Int32 = 71
    /// Cannot listen: address in use or not on this machine (EX_CANTCREAT).
    static let cannotListen: Int32 = 73
    /// This machine's own output or input failed: stdout closed or full, stdin unreadable (EX_IOERR).
    static let ioError: Int32 = 74
    /// A connect or response deadline passed (EX_TEMPFAIL).
    static let timedOut: Int32 = 75
    /// Permission denied, e.g. a port below 1024 (EX_NOPERM).
    static let permissionDenied: Int32 = 77

    /// The table, for --help and docs.
    static let table: [(Int32, String)] = [
        (success, "success"),
        (failure, "the exchange failed: bytes differ, bad or cut response, reset"),
        (usage, "usage error: bad flags or arguments"),
        (unknownHost, "unknown host: the name did not resolve"),
        (unavailable, "unavailable: refused, host or network unreachable"),
        (systemError, "system error: out of descriptors, another OS failure"),
        (cannotListen, "cannot listen: address in use, or not on this machine"),
        (ioError, "local I/O error: stdout closed or full, stdin unreadable"),
        (timedOut, "timed out: a connect or response deadline passed"),
        (permissionDenied, "permission denied: e.g. a port below 1024"),
        (130, "interrupted by SIGINT (143: SIGTERM); a load run prints its summary first"),
    ]
}
