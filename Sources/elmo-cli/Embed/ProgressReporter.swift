#if canImport(Glibc)
import Glibc
#endif

/// Progress of `elmo embed` on stderr: a bar redrawn in place when stderr is a terminal,
/// plain lines every `interval` seconds otherwise (logs, CI), nothing with `--quiet`.
final class ProgressReporter {
    enum Style {
        case bar(interval: Double)
        case lines(interval: Double)
        case none
    }

    private let style: Style
    private let totalBytes: Int?
    private let started = monotonicSeconds()
    private var lastDrawn = 0.0
    private var drewBar = false

    init(style: Style, totalBytes: Int?) {
        self.style = style
        self.totalBytes = totalBytes
        lastDrawn = started  // the first plain line comes one interval after the start
    }

    /// The style for this process: bar on a terminal, lines otherwise, none when quiet.
    /// `ELMO_PROGRESS_INTERVAL` (seconds) sets the interval of plain lines (default 10) and of
    /// bar redraws (default 0.1).
    static func style(quiet: Bool) -> Style {
        if quiet { return .none }
        var configured: Double?
        if let v = getenv("ELMO_PROGRESS_INTERVAL"), let d = Double(String(cString: v)), d >= 0 { configured = d }
        if Terminal.isTerminal(2) { return .bar(interval: configured ?? 0.1) }
        return .lines(interval: configured ?? 10)
    }

    func update(sentences: Int, tokens: Int, bytes: Int) {
        let now = monotonicSeconds()
        switch style {
        case .none:
            return
        case .bar(let interval):
            guard now - lastDrawn >= interval else { return }
            lastDrawn = now
            drewBar = true
            Terminal.writeError("\r" + barLine(sentences: sentences, tokens: tokens, bytes: bytes, now: now) + "\u{1B}[K")
        case .lines(let interval):
            guard now - lastDrawn >= interval else { return }
            lastDrawn = now
            Terminal.line("elmo embed: " + status(sentences: sentences, tokens: tokens, bytes: bytes, now: now))
        }
    }

    /// The closing summary (not with `--quiet`).
    func finish(sentences: Int, tokens: Int, empty: Int, skipped: Int, output: String) {
        if case .none = style { return }
        if drewBar { Terminal.writeError("\r\u{1B}[K") }
        let elapsed = monotonicSeconds() - started
        var extra: [String] = []
        if empty > 0 { extra.append("\(HumanFormat.count(empty)) empty") }
        if skipped > 0 { extra.append("\(HumanFormat.count(skipped)) skipped") }
        Terminal.line("elmo embed: \(HumanFormat.count(sentences)) lines (\(HumanFormat.count(tokens)) tokens"
                      + (extra.isEmpty ? "" : ", " + extra.joined(separator: ", "))
                      + ") in \(HumanFormat.fixed(elapsed, 1)) s, \(rate(tokens, elapsed)) tokens/s -> \(output)")
    }

    /// Clears the bar before an error or warning is printed.
    func interrupt() {
        if drewBar {
            Terminal.writeError("\r\u{1B}[K")
            lastDrawn = 0
        }
    }

    private func fraction(_ bytes: Int) -> Double? {
        guard let total = totalBytes, total > 0 else { return nil }
        return min(1, Double(bytes) / Double(total))
    }

    private func rate(_ tokens: Int, _ elapsed: Double) -> String {
        elapsed > 0 ? HumanFormat.count(Int(Double(tokens) / elapsed)) : "?"
    }

    private func status(sentences: Int, tokens: Int, bytes: Int, now: Double) -> String {
        let elapsed = now - started
        var s = "\(HumanFormat.count(sentences)) sentences, \(rate(tokens, elapsed)) tokens/s"
        if let f = fraction(bytes) {
            s = "\(Int(f * 100))%, " + s
            if f > 0 { s += ", ETA " + HumanFormat.duration(elapsed / f - elapsed) }
        }
        return s
    }

    private func barLine(sentences: Int, tokens: Int, bytes: Int, now: Double) -> String {
        let width = 24
        guard let f = fraction(bytes) else { return "elmo embed: " + status(sentences: sentences, tokens: tokens, bytes: bytes, now: now) }
        let filled = Int(f * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "[\(bar)] " + status(sentences: sentences, tokens: tokens, bytes: bytes, now: now)
    }
}
