#if canImport(Glibc)
import Glibc
#endif

/// Standard error output and terminal detection. Everything the commands say about their
/// progress goes to stderr, so that stdout can carry data (`elmo embed ... -` writes JSON
/// lines there).
enum Terminal {
    /// Whether a file descriptor is a terminal.
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Writes text to stderr as is (no newline added).
    static func writeError(_ text: String) {
        var t = text
        t.withUTF8 { buf in
            var done = 0
            while done < buf.count {
                let n = write(2, buf.baseAddress! + done, buf.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
    }

    /// Prints one line to stderr.
    static func line(_ text: String) { writeError(text + "\n") }

    /// "elmo: warning: ..." on stderr.
    static func warning(_ text: String) { line("elmo: warning: " + text) }
}

/// Monotonic seconds, for rates and ETAs.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Human formats for progress and `elmo info`.
enum HumanFormat {
    /// "1.5 MB", "374.4 MB", "512 B" (decimal units, as download sizes are usually given).
    static func bytes(_ n: Int) -> String {
        if n < 1000 { return "\(n) B" }
        let units = ["kB", "MB", "GB", "TB"]
        var v = Double(n) / 1000
        var u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return fixed(v, v < 10 ? 2 : 1) + " " + units[u]
    }

    /// "1h02m", "3m05s", "42s".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + pad2((s % 3600) / 60) + "m" }
        if s >= 60 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        return "\(s)s"
    }

    /// "12,345,678".
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A fixed number of decimals without Foundation's formatters.
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return "?" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (abs(x) * scale).rounded()
        let whole = Int(r / scale)
        var frac = String(Int(r) - whole * Int(scale))
        while frac.count < decimals { frac = "0" + frac }
        return (x < 0 && r > 0 ? "-" : "") + String(whole) + (decimals > 0 ? "." + frac : "")
    }

    private static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
