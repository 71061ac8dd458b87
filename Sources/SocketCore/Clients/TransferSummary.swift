// TransferSummary.swift -- what every client run ends with: bytes each way and time (like ncat's line).

/// Totals of one client run.
public struct TransferSummary: Sendable, Equatable {
    public var bytesSent: Int = 0
    public var bytesReceived: Int = 0
    public var nanoseconds: UInt64 = 0
    public var connections: Int = 0
    public var failedConnections: Int = 0

    public init() {}

    /// "Sent 12 bytes, received 12 bytes in 0.001 s." (plus the connection count when more than one).
    public var text: String {
        var line =
            "Sent \(NumberFormat.grouped(bytesSent)) bytes, received \(NumberFormat.grouped(bytesReceived)) bytes"
        line += " in \(NumberFormat.fixed(Double(nanoseconds) / 1e9, decimals: 3)) s"
        if connections > 1 || failedConnections > 0 {
            line += " over \(connections) connection\(connections == 1 ? "" : "s")"
            if failedConnections > 0 { line += " (\(failedConnections) failed)" }
        }
        return line + "."
    }

    /// The JSON summary event's members.
    public var fields: [(String, JSONValue)] {
        [
            ("bytes_sent", .int(bytesSent)), ("bytes_received", .int(bytesReceived)),
            ("seconds", .double(Double(nanoseconds) / 1e9, decimals: 6)), ("connections", .int(connections)),
            ("failed_connections", .int(failedConnections)),
        ]
    }
}
