// ProcessProbe.swift -- what a child process costs, read from /proc: open descriptors, CPU ticks, resident
// memory.
import Foundation
import Glibc

/// Readings of another process from /proc.
enum ProcessProbe {
    /// Entries of /proc/PID/fd: the process's open descriptors.
    static func openDescriptors(_ pid: pid_t) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// utime + stime from /proc/PID/stat, in clock ticks (sysconf(_SC_CLK_TCK) per second).
    static func cpuTicks(_ pid: pid_t) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The command name, field 2, is in parentheses and may hold spaces: split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { throw LoopbackFailure("unreadable /proc/\(pid)/stat") }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw LoopbackFailure("unreadable /proc/\(pid)/stat: \(text)")
        }
        return user + system
    }

    /// False under `make sanitize` (SOCKETTOOL_SANITIZER is set): AddressSanitizer keeps freed memory in
    /// quarantine and shadows the rest, so a child's RSS says nothing about sockettool's own memory.
    static var memoryFiguresAreMeaningful: Bool {
        ProcessInfo.processInfo.environment["SOCKETTOOL_SANITIZER"] == nil
    }

    /// VmRSS from /proc/PID/status, in KiB.
    static func residentKiB(_ pid: pid_t) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            if let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first,
                let kib = Int(value)
            {
                return kib
            }
        }
        throw LoopbackFailure("no VmRSS in /proc/\(pid)/status")
    }
}
