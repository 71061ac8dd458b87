// FrameError.swift -- every way a message of the guide's protocol can be wrong, each with a sentence a
// user can act on. The server sends `{"result": "Error: <description>"}` for these.

/// Why bytes are not a valid message of the app protocol.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 2-byte prefix says 0: there is no JSON header at all.
    case emptyHeader
    /// The JSON header is not valid UTF-8 or not valid JSON.
    case invalidHeader(JSONError)
    /// The JSON header parsed, but is not an object (e.g. a list or a number).
    case headerNotObject(pythonType: String)
    /// One of the four required keys is missing (the guide's own message).
    case missingHeader(String)
    /// A required key has a value of the wrong type or range.
    case invalidHeaderValue(key: String, reason: String)
    /// The declared content-length exceeds the limit in force.
    case contentTooLarge(declared: String, limit: Int)
    /// text/json content in an encoding this side cannot decode.
    case unsupportedEncoding(String)
    /// The stream ended in the middle of a message.
    case truncated(received: Int, expected: Int?, stage: Stage)

    /// Where in a message a stream ended.
    public enum Stage: Sendable, Equatable, CustomStringConvertible {
        case lengthPrefix
        /// Inside a JSON header of this many bytes.
        case header(length: Int)
        case content

        public var description: String {
            switch self {
            case .lengthPrefix: "the 2-byte length prefix"
            case .header(let length): "the \(length)-byte JSON header"
            case .content: "the content"
            }
        }
    }

    public var description: String {
        switch self {
        case .emptyHeader:
            return "JSON header length is 0; expected a JSON object."
        case .invalidHeader(let error):
            return "invalid JSON header: \(error)."
        case .headerNotObject(let type):
            return "JSON header must be an object, got \(type)."
        case .missingHeader(let key):
            return "Missing required header '\(key)'."
        case .invalidHeaderValue(let key, let reason):
            return "header '\(key)' \(reason)."
        case .contentTooLarge(let declared, let limit):
            return "content-length \(declared) exceeds the limit of \(limit) bytes."
        case .unsupportedEncoding(let name):
            return "unsupported content-encoding \(PythonRepr.string(name)) for text/json; use 'utf-8'."
        case .truncated:
            return truncationText(closer: "the connection closed")
        }
    }

    /// The description, with truncation told from one side: "server closed the connection after 7 of 98
    /// bytes (in the content)."
    public func description(peer: String) -> String {
        guard case .truncated = self else { return description }
        return truncationText(closer: "\(peer) closed the connection")
    }

    private func truncationText(closer: String) -> String {
        guard case .truncated(let received, let expected, let stage) = self else { return description }
        if let expected { return "\(closer) after \(received) of \(expected) bytes (in \(stage))." }
        return "\(closer) after \(received) bytes (in \(stage))."
    }
}
