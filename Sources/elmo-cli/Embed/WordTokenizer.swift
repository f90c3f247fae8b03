/// `elmo embed --tokenize`: raw text to tokens in the style of the 1B Word Benchmark, the
/// corpus the released ELMo models were trained on, whose text has punctuation split off
/// words. The rules, applied to each whitespace-separated piece of the line:
///
/// 0. The line is split on whitespace as Python's `str.split()` does (the caller does this).
/// 1. Punctuation and symbol characters (Unicode categories P* and S*) become tokens of
///    their own; a run of the same character stays one token ("...", "--", "!!").
/// 2. Except inside a word: a hyphen or apostrophe between two letters or digits
///    ("state-of-the-art", "O'Brien"), a period, comma or colon between two digits
///    ("3.14", "1,000", "10:30"), and the periods of an abbreviation written with inner
///    periods ("U.S.", "e.g.", which also keep their final period).
/// 3. English clitics are split from the word before them, keeping their case:
///    "n't" ("don't" -> "do n't", "can't" -> "ca n't") and "'s", "'re", "'ve", "'ll",
///    "'d", "'m" ("it's" -> "it 's"); the typographic apostrophe (U+2019) counts as one.
///
/// Without `--tokenize` a line is split on whitespace only, exactly as `allennlp elmo`
/// (Python's `str.split()`) does.
enum WordTokenizer {
    /// The tokens of the whitespace-separated `pieces` of one line.
    static func tokenize(_ pieces: [String]) -> [String] {
        var out: [String] = []
        for piece in pieces {
            for word in splitPunctuation(Array(piece)) {
                out.append(contentsOf: splitClitic(word))
            }
        }
        return out
    }

    private static func isPunctuation(_ c: Character) -> Bool {
        guard let s = c.unicodeScalars.first else { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func isAlphanumeric(_ c: Character?) -> Bool {
        guard let c else { return false }
        return c.isLetter || c.isNumber
    }

    private static func splitPunctuation(_ chars: [Character]) -> [String] {
        var tokens: [String] = []
        var word = ""
        var wordHasInnerPeriod = false
        var i = 0
        func flush() {
            if !word.isEmpty { tokens.append(word) }
            word = ""
            wordHasInnerPeriod = false
        }
        while i < chars.count {
            let c = chars[i]
            let prev: Character? = word.isEmpty ? nil : word.last
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            guard isPunctuation(c) else {
                word.append(c)
                i += 1
                continue
            }
            let between = isAlphanumeric(prev) && isAlphanumeric(next)
            let betweenDigits = (prev?.isNumber ?? false) && (next?.isNumber ?? false)
            let betweenLetters = (prev?.isLetter ?? false) && (next?.isLetter ?? false)
            if (c == "-" || c == "'" || c == "\u{2019}") && between
                || (c == "." || c == "," || c == ":") && betweenDigits {
                word.append(c)
                i += 1
                continue
            }
            if c == "." && betweenLetters {
                word.append(c)
                wordHasInnerPeriod = true
                i += 1
                continue
            }
            if c == "." && wordHasInnerPeriod && (prev?.isLetter ?? false) && !isAlphanumeric(next) && next != "." {
                word.append(c)  // the final period of "U.S."
                flush()
                i += 1
                continue
            }
            flush()
            var run = String(c)
            i += 1
            while i < chars.count && chars[i] == c {
                run.append(c)
                i += 1
            }
            tokens.append(run)
        }
        flush()
        return tokens
    }

    private static let clitics = ["'s", "'re", "'ve", "'ll", "'d", "'m"]

    private static func splitClitic(_ word: String) -> [String] {
        let normalized = word.replacingApostrophes().lowercased()
        if normalized.count > 3 && normalized.hasSuffix("n't") {
            let cut = word.index(word.endIndex, offsetBy: -3)
            return [String(word[..<cut]), String(word[cut...])]
        }
        for clitic in clitics where normalized.count > clitic.count && normalized.hasSuffix(clitic) {
            let cut = word.index(word.endIndex, offsetBy: -clitic.count)
            return [String(word[..<cut]), String(word[cut...])]
        }
        return [word]
    }
}

private extension String {
    func replacingApostrophes() -> String {
        String(map { $0 == "\u{2019}" ? "'" : $0 })
    }
}
