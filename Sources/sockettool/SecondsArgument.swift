// SecondsArgument.swift -- how every "seconds" flag reads its value.
import ArgumentParser

/// Reads a number of seconds: finite and not negative ("2", "0.5", "1e-3"). `nan` or `inf` would reach the
/// clock as nonsense, so they are refused here with the flag's name (argument-parser adds it).
func parseSeconds(_ text: String) throws -> Double {
    guard let value = Double(text), value.isFinite else {
        throw ValidationError("'\(text)' is not a number of seconds; give one such as 2 or 0.5.")
    }
    guard value >= 0 else { throw ValidationError("a number of seconds cannot be negative.") }
    return value
}
