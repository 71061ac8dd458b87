// ReuseAddressFlag.swift -- --no-reuseaddr, every server's: the guide's "Address already in use" lesson.
import ArgumentParser

/// --no-reuseaddr: bind without SO_REUSEADDR, as the guide's servers do, so that a restart while the last
/// connection's TIME_WAIT lasts (the server closed first) fails with "Address already in use".
struct ReuseAddressFlag: ParsableArguments {
    @Flag(
        name: .customLong("no-reuseaddr"),
        help:
            "Bind without SO_REUSEADDR, as the guide's echo-server.py does: a restart fails while a connection this server closed first sits in TIME_WAIT."
    )
    var noReuseAddress = false

    var reuseAddress: Bool { !noReuseAddress }

    /// A Unix socket has no TIME_WAIT and ignores SO_REUSEADDR: the flag would be accepted and do nothing.
    func refuse(withUnix unixPath: String?) throws {
        if noReuseAddress && unixPath != nil {
            throw ValidationError(
                "--no-reuseaddr is about TCP's TIME_WAIT; a Unix socket has none (a stale socket file is replaced "
                    + "instead): drop it."
            )
        }
    }
}
