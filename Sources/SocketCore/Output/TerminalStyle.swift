// TerminalStyle.swift -- ANSI colour for labels on a terminal, and never anywhere else.

/// Colours labels ("error:", "hint:") when stderr is a terminal and the user has not asked otherwise.
public struct TerminalStyle: Sendable {
    /// The user's --color choice.
    public enum Choice: String, Sendable, CaseIterable {
        case auto, always, never
    }

    /// Whether escape codes are written at all.
    public let isEnabled: Bool

    /// No colour.
    public static let plain = TerminalStyle(isEnabled: false)

    public init(isEnabled: Bool) { self.isEnabled = isEnabled }

    /// Resolves --color: `auto` colours only a terminal, and never when NO_COLOR is set (https://no-color.org)
    /// or TERM is "dumb".
    public init(choice: Choice, descriptor: CInt) {
        switch choice {
        case .always: isEnabled = true
        case .never: isEnabled = false
        case .auto:
            let noColor = Environment.value("NO_COLOR").map { !$0.isEmpty } ?? false
            let dumb = Environment.value("TERM") == "dumb"
            isEnabled = !noColor && !dumb && StandardStreams.isTerminal(descriptor)
        }
    }

    public func error(_ text: String) -> String { paint(text, "1;31") }
    public func warning(_ text: String) -> String { paint(text, "1;33") }
    public func hint(_ text: String) -> String { paint(text, "1;36") }
    public func notice(_ text: String) -> String { paint(text, "1;34") }
    public func bold(_ text: String) -> String { paint(text, "1") }

    private func paint(_ text: String, _ code: String) -> String {
        isEnabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
