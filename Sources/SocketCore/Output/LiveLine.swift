// LiveLine.swift -- the progress line redrawn in place on a terminal: "\r", the text cut to fit, ESC[K.
// A line that wraps leaves its first rows behind ("\r" only returns to the start of the last row), so
// the text is cut to one row, one column short of the edge (where some terminals wrap at once).

public enum LiveLine {
    /// `text` cut to `columns - 1` characters; as is when the width is unknown.
    public static func fitted(_ text: String, columns: Int?) -> String {
        guard let columns, text.count > columns - 1 else { return text }
        return String(text.prefix(max(columns - 1, 0)))
    }
}

extension OutputBuffer {
    /// Redraws the live line in place, fitted to the terminal's width now.
    public func redrawLive(_ text: String) {
        write("\r" + LiveLine.fitted(text, columns: StandardStreams.terminalColumns(descriptor)) + "\u{1B}[K")
    }

    /// Whether a live line on this stream (stderr) can be kept apart from `results` (stdout): only when both
    /// are terminals the tool writes itself. With stdout piped (`flood | cat`), the pipe's reader prints
    /// whenever it likes, and its text would land glued to the live line; plain lines then, as for a file.
    public func canRedrawBeside(_ results: OutputBuffer) -> Bool {
        canRedraw && results.isTerminal
    }
}
