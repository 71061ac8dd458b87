// SystemError.swift -- a failed system call: which call, on what, and why.
//
// Prints like Redis's anet errors: `connect(127.0.0.1:65432): Connection refused`.

/// A system call that failed, with the errno it reported.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Why the call failed.
    public let errno: Errno
    /// The C call, e.g. "connect".
    public let call: String
    /// What the call was made on, e.g. "127.0.0.1:65432"; empty when nothing useful can be said.
    public let detail: String

    public init(errno: Errno, call: String, detail: String = "") {
        self.errno = errno
        self.call = call
        self.detail = detail
    }

    public var description: String { "\(call)(\(detail)): \(errno)" }

    /// The same error with `detail` filled in, for layers that know the address and the call did not.
    public func with(detail: String) -> SystemError { SystemError(errno: errno, call: call, detail: detail) }
}

/// Lets `catch let error as SystemError where error ~= .connectionRefused` read naturally.
public func ~= (pattern: Errno, error: SystemError) -> Bool { pattern == error.errno }
