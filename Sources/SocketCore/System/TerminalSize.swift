// TerminalSize.swift -- how wide a terminal is now (TIOCGWINSZ), for the live progress line.
import Glibc

extension StandardStreams {
    /// The columns of the terminal on `descriptor`, or nil when it is not a terminal (or says 0). Read at
    /// every redraw, so a resized window (SIGWINCH) is fitted by the next one without a signal handler.
    /// The corresponding C call is `ioctl(TIOCGWINSZ)`.
    public static func terminalColumns(_ descriptor: CInt) -> Int? {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}
