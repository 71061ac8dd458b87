// SecondsArgument.swift -- the value of every "seconds" flag.
import ArgumentParser

/// A number of seconds from the command line: finite and not negative ("2", "0.5", "1e-3"). `nan` or `inf`
/// would reach the clock as nonsense, so argument-parser refuses them, naming the flag.
struct Seconds: ExpressibleByArgument, Comparable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    let value: Double

    init?(argument: String) {
        guard let value = Double(argument), value.isFinite, value >= 0 else { return nil }
        self.value = value
    }

    init(floatLiteral value: Double) { self.value = value }
    init(integerLiteral value: Int) { self.value = Double(value) }

    /// For the loop and the sockets.
    var asDuration: Duration { .seconds(fromDouble: value) }

    var defaultValueDescription: String { "\(value)" }

    static func < (lhs: Seconds, rhs: Seconds) -> Bool { lhs.value < rhs.value }
}
