// DocNormalisation.swift -- how the doc test compares a transcript with a run: the values that differ
// from run to run are replaced by tokens on both sides, and a line `...` stands for any number of lines.
import Foundation

/// The doc test's comparison rules (listed in DocTests.swift's header; keep the two in step).
enum DocNormalisation {
    /// The port the docs use, as the guide does. The harness runs each doc on another free port and
    /// writes this one back into what the programs print.
    static let documentedPort = 65432

    /// A line of the doc or of the output with its run-dependent values replaced:
    /// - rates (`659.4 MB/s`, `4.16 Gbit/s`, `7,106 req/s`, `40,244 chunks/s`) → `<rate>`; a zero rate stays,
    ///   so a rate the doc shows as 0.0 cannot hide a real one;
    /// - durations (`0.003 s`, `92 µs`, `2.16 ms`, `[1.0 s]`) → `<time>`;
    /// - ports after an address or a `:` in a filter (`127.0.0.1:38940`, `[::1]:5`, `sport = :42119`), and in
    ///   a Python tuple (`('127.0.0.1', 57988)`) → `<port>`, except the documented port 65432;
    /// - `pid=6287` → `pid=<pid>`; how often send() said EAGAIN (`EAGAIN 47 times`, `EAGAIN ×3`) → `<n>`;
    /// - flood's sentence on what the kernel took after the first EAGAIN (`; 380,928 more were accepted later, ...`
    ///   or ` and took nothing more.`: whether acknowledgements freed room before the end is timing) →
    ///   `send() said EAGAIN after N bytes (at <time>), <then>`;
    /// - JSON members that hold a time or a rate (`"seconds"`, `"…_s"`, `"…_ms"`, `"…_us"`, `"rate"`) → `<n>`;
    /// - with `numbers` (a block option): every other number → `N`;
    /// - runs of blanks → one blank, and no trailing blanks (ss pads its columns).
    static func normalise(_ line: String, numbers: Bool = false) -> String {
        var text = line
        text = text.replacing(/([0-9][0-9,]*(?:\.[0-9]+)?) ?((?:[KMGT]i?B|B|[KMG]?bit|req|chunks)\/s)\b/) { match in
            isZero(match.output.1) ? String(match.output.0) : "<rate>"
        }
        text = text.replacing(/\b[0-9][0-9,]*(?:\.[0-9]+)? ?(?:s|ms|µs|us|ns)\b/) { _ in "<time>" }
        text = text.replacing(/([0-9\] ]):([0-9]{1,5})\b/) { match in
            Int(match.output.2) == documentedPort ? String(match.output.0) : match.output.1 + ":<port>"
        }
        text = text.replacing(/', ([0-9]{1,5})\)/) { match in
            Int(match.output.1) == documentedPort ? String(match.output.0) : "', <port>)"
        }
        text = text.replacing(/pid=[0-9]+/) { _ in "pid=<pid>" }
        text = text.replacing(
            /^send\(\) (?:first )?said EAGAIN after ([0-9,]+) bytes \(at ([^)]*)\)(?:; .*| and took nothing more\.)$/
        ) { match in "send() said EAGAIN after \(match.output.1) bytes (at \(match.output.2)), <then>" }
        text = text.replacing(/EAGAIN [0-9,]+ times/) { _ in "EAGAIN <n> times" }
        text = text.replacing(/EAGAIN ×[0-9,]+/) { _ in "EAGAIN ×<n>" }
        text = text.replacing(/"([a-z_0-9]+)": -?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/) { match in
            isVolatileKey(String(match.output.1)) ? "\"\(match.output.1)\": <n>" : String(match.output.0)
        }
        if numbers {
            text = text.replacing(/[0-9][0-9,]*(?:\.[0-9]+)?/) { _ in "N" }
        }
        text = text.replacing(/[ \t]+/) { _ in " " }
        while text.last == " " { text.removeLast() }
        return text
    }

    /// What the programs printed, with the harness's port written back as the documented one.
    static func documentingPort(_ line: String, runPort: Int) -> String {
        line.replacing(Regex<Substring>(verbatim: String(runPort))) { match in
            let before =
                match.range.lowerBound == line.startIndex ? nil : line[line.index(before: match.range.lowerBound)]
            let after = match.range.upperBound == line.endIndex ? nil : line[match.range.upperBound]
            let isNumberPart = { (character: Character?) in character?.isNumber == true }
            return isNumberPart(before) || isNumberPart(after) ? String(match.output) : String(documentedPort)
        }
    }

    /// JSON members whose value is a duration or a rate.
    static func isVolatileKey(_ key: String) -> Bool {
        key == "seconds" || key == "rate" || key.hasSuffix("_s") || key.hasSuffix("_ms") || key.hasSuffix("_us")
    }

    private static func isZero(_ number: Substring) -> Bool {
        number.allSatisfy { $0 == "0" || $0 == "," || $0 == "." }
    }

    /// True if `actual` is what `expected` shows: line for line, where an expected line `...` matches any
    /// number of lines (none too). Both sides already normalised.
    static func matches(_ expected: [String], _ actual: [String]) -> Bool {
        // reachable[j]: expected[..<i] can match actual[..<j].
        var reachable = [Bool](repeating: false, count: actual.count + 1)
        reachable[0] = true
        for line in expected {
            var next = [Bool](repeating: false, count: actual.count + 1)
            if line == "..." {
                var seen = false
                for j in 0...actual.count {
                    seen = seen || reachable[j]
                    next[j] = seen
                }
            } else {
                for j in 0..<actual.count where reachable[j] && actual[j] == line { next[j + 1] = true }
            }
            reachable = next
        }
        return reachable[actual.count]
    }

    /// `lines` without the blank lines at the end.
    static func trimmingTrailingBlanks(_ lines: [String]) -> [String] {
        var result = lines
        while result.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { result.removeLast() }
        return result
    }

    /// Whether the run lacks some of the doc's TIME_WAIT lines (and their timers) and differs in nothing else.
    /// ss pads its columns to the widest row, so with rows gone its header's spacing changes ("Peer
    /// Address:PortProcess"): the rest is compared without white space.
    static func onlyTimeWaitLinesMissing(_ expected: [String], _ actual: [String], unordered: Bool) -> Bool {
        let isTimeWait = { (line: String) in
            line.contains("TIME_WAIT") || line.contains("TIME-WAIT") || line.contains("timer timewait")
        }
        guard actual.filter(isTimeWait).count < expected.filter(isTimeWait).count else { return false }
        let withoutSpaces = { (lines: [String]) in
            lines.filter { !isTimeWait($0) }.map { $0.filter { !$0.isWhitespace } }
        }
        let (expectedRest, actualRest) = (withoutSpaces(expected), withoutSpaces(actual))
        if unordered { return expectedRest.sorted() == actualRest.sorted() }
        return matches(expectedRest, actualRest)
    }

    /// Whether the run printed the doc's lines, some of them more than once, and nothing else.
    static func onlyDuplicateLinesAdded(_ expected: [String], _ actual: [String], unordered: Bool) -> Bool {
        var seen = Set<String>()
        let firstOfEach = actual.filter { seen.insert($0).inserted }
        guard firstOfEach.count < actual.count else { return false }
        if unordered { return expected.sorted() == firstOfEach.sorted() }
        return matches(expected, firstOfEach)
    }
}
