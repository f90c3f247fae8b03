// The benchmark corpus: the first N lines of ../shared/bench/corpus.txt, one sentence each.
import Foundation

struct Corpus {
    /// Sentences in file order, as raw text (split on whitespace by the library).
    let sentences: [String]
    /// Tokens per sentence (whitespace split, as the library does).
    let tokenCounts: [Int]

    init(path: String, count: Int) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if lines.count == count { break }
            // Empty lines cannot be embedded; the bench corpus has none, but skip them safely.
            if line.split(whereSeparator: { $0.isWhitespace }).isEmpty { continue }
            lines.append(String(line))
        }
        sentences = lines
        tokenCounts = lines.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).count }
    }

    var tokenCount: Int { tokenCounts.reduce(0, +) }
}
