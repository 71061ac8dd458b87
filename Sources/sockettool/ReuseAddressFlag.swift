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
}
