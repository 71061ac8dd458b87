// Waiting.swift -- the suite's one deadline and its one polling wait, for conditions no signal announces
// (see TestRules.swift: wait for a signal wherever there is one).
import Foundation

/// How long a test waits for something that should happen at once.
enum TestDeadline {
    /// Thirty seconds: the suite runs in parallel, three times, on two shared cores. A wait that ends on
    /// its signal costs nothing more for being long; one that runs out means the thing never happened.
    static let generous: Duration = .seconds(30)
}

/// Checks `condition` every `interval` until it holds or `deadline` passes.
///
/// Only for conditions that no line, socket event or exit announces (a descriptor count in /proc, a state
/// in ss); never to wait out a fixed time.
/// - Returns: Whether the condition held in time.
func eventually(
    within deadline: Duration = TestDeadline.generous,
    every interval: Duration = .milliseconds(20),
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let end = ContinuousClock.now + deadline
    while true {
        if try condition() { return true }
        if ContinuousClock.now >= end { return false }
        let (seconds, attoseconds) = interval.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }
}
