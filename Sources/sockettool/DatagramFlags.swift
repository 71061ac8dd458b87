// DatagramFlags.swift -- --udp, in its own option group: the commands that speak UDP (serve echo, connect).
import ArgumentParser

/// --udp.
struct DatagramFlag: ParsableArguments {
    @Flag(help: "UDP (SOCK_DGRAM): no connection, each message one datagram, boundaries kept, loss possible.")
    var udp = false
}
