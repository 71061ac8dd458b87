// SocketActivation.swift -- systemd's socket activation (sd_listen_fds(3)), spoken without libsystemd: the
// service manager binds, listens and passes the socket as descriptor 3; the server adopts it instead of
// binding, so a restart never refuses a connection (they wait in the kernel's queue meanwhile).
//
// The protocol: LISTEN_PID is our process id (else the variables were meant for a parent and are ignored),
// LISTEN_FDS the number of descriptors passed from 3 on, LISTEN_FDNAMES their names, colon-separated
// (FileDescriptorName= in the .socket unit; "unknown" when unset). The command line reads the variables
// and clears them, so no process we start inherits them.

/// The sockets the service manager passed to this process.
public struct SocketActivation: Sendable, Equatable {
    /// SD_LISTEN_FDS_START: the first passed descriptor.
    public static let firstDescriptor: CInt = 3

    /// One passed descriptor and its name.
    public struct PassedSocket: Sendable, Equatable {
        public var descriptor: CInt
        public var name: String

        public init(descriptor: CInt, name: String) {
            self.descriptor = descriptor
            self.name = name
        }
    }

    /// Every passed descriptor, from 3 on.
    public let sockets: [PassedSocket]

    /// A hand-over of these descriptors, as LISTEN_FDS would pass them (tests hand over any number).
    public init(sockets: [PassedSocket]) {
        self.sockets = sockets
    }

    /// Reads the protocol's variables, given as the environment holds them (nil when unset).
    ///
    /// - Parameter processID: This process's id, which LISTEN_PID must name.
    /// - Returns: nil when the variables are not set, or were set for another process.
    /// - Throws: `SocketActivationError` when they are meant for this process and make no sense.
    public init?(
        listenPID: String?,
        listenFDs: String?,
        listenFDNames: String?,
        processID: Int32
    ) throws(SocketActivationError) {
        guard let listenPID else { return nil }
        guard let pid = Int32(listenPID), pid > 0 else { throw .badVariable("LISTEN_PID", listenPID) }
        guard pid == processID, let listenFDs else { return nil }
        guard let count = Int(listenFDs), count > 0, count <= 4096 else { throw .badVariable("LISTEN_FDS", listenFDs) }
        var names = Array(repeating: "unknown", count: count)
        if let listenFDNames {
            let given = listenFDNames.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard given.count == count else { throw .namesMismatch(names: given.count, descriptors: count) }
            names = given
        }
        sockets = names.enumerated().map { PassedSocket(descriptor: Self.firstDescriptor + CInt($0), name: $1) }
    }

    /// The one listening stream socket a server serves on, checked and adopted.
    ///
    /// - Parameters:
    ///   - families: The address families this server can serve (AF_INET and AF_INET6 for TCP servers).
    ///   - blocking: True for `serve echo`'s blocking socket; the reactor's servers want non-blocking.
    /// - Throws: `SocketActivationError` when more than one socket was passed, or the one passed is not a
    ///   listening stream socket of one of `families`.
    public func listener(families: [CInt], blocking: Bool = false) throws(SocketActivationError) -> Socket {
        guard sockets.count == 1, let passed = sockets.first else { throw .tooMany(sockets.map(\.name)) }
        let found = InheritedDescriptor.inspect(passed.descriptor)
        if let problem = Self.problem(with: found, families: families) {
            throw .unusable(descriptor: passed.descriptor, name: passed.name, problem: problem)
        }
        do {
            return try Socket.adoptingListener(passed.descriptor, family: found.family, blocking: blocking)
        } catch {
            throw .unusable(descriptor: passed.descriptor, name: passed.name, problem: "\(error)")
        }
    }

    /// Why a passed descriptor cannot be served on, or nil when it can.
    static func problem(with found: InheritedDescriptor, families: [CInt]) -> String? {
        if !found.isOpen { return "it is not open" }
        if !found.isSocket { return "it is not a socket" }
        if !found.isStream { return "it is a \(found.typeName) socket, not SOCK_STREAM (use ListenStream=)" }
        if !families.contains(found.family) {
            let wanted = families.map(AddressFamily.name).joined(separator: " or ")
            return "it is an \(AddressFamily.name(found.family)) socket; this server serves \(wanted)"
        }
        if !found.isListening { return "it is not listening (Accept=no in the .socket unit passes the listener)" }
        return nil
    }
}

/// Socket activation that cannot work as configured.
public enum SocketActivationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A variable meant for this process does not parse.
    case badVariable(String, String)
    /// LISTEN_FDNAMES names a different number of descriptors than LISTEN_FDS passes.
    case namesMismatch(names: Int, descriptors: Int)
    /// More than one socket was passed; a server serves one.
    case tooMany([String])
    /// The passed descriptor is not what this server can serve on.
    case unusable(descriptor: CInt, name: String, problem: String)

    public var description: String {
        switch self {
        case .badVariable(let name, let value):
            "socket activation: \(name)='\(ByteNotation.escapeForLog(value, limit: 60))' is not a valid value"
        case .namesMismatch(let names, let descriptors):
            "socket activation: LISTEN_FDNAMES names \(names) descriptors, LISTEN_FDS passes \(descriptors)"
        case .tooMany(let names):
            "socket activation passed \(names.count) sockets (\(names.joined(separator: ", "))); "
                + "a sockettool server serves one"
        case .unusable(let descriptor, let name, let problem):
            "socket activation: descriptor \(descriptor) (\(name)) cannot be served on: \(problem)"
        }
    }
}
