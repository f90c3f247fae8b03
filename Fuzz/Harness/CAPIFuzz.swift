// Target `capi` (the C harness in Fuzz/CAPI): its model and its seeds.
import Elmo

public enum CAPIFuzz {
    /// Writes the "full" fuzz model configuration as a native file in the scratch directory
    /// and returns its path (the model the C harness embeds with).
    public static func writeModel() throws -> String {
        let dir = FuzzScratch.makeDirectory("capi-model")
        let model = try FuzzModels.writeOfficial("full", directory: dir)
        let path = dir + "/model.elmo"
        try model.writeNative(to: path)
        return path
    }

    /// Seeds: each mode of the harness's first two bytes (see capi_harness.c) with ordinary
    /// and awkward sentences.
    public static var seeds: [[UInt8]] {
        let texts = Array("The bank of the river .\0A loan\u{3000}from the\tbank\0<S> \u{00E9}l\u{00E8}ve".utf8)
        let tokens = Array("The\0bank\0\u{01}\0A\0loan with spaces\0\u{01}\0</S>".utf8)
        // Character ids: pieces the harness encodes (0x02 <S>, 0x03 </S>, a word longer than
        // a row, an empty sentence) and raw rows (2 sentences of 2 and 1 tokens; then a row
        // with an id out of range and one without end-of-word).
        let pieces = Array("\u{02}\0The\0caf\u{00E9}-au-lait-and-more\0\u{03}\0\u{01}\0<S>\0\u{01}\0\u{01}".utf8)
        let spelled = Array("\u{02}\0The\0nine-byte\u{00E9}s\0\u{03}\0\u{01}\0bank".utf8)  // cut inside \u{00E9}
        let valid = rawRows(counts: [2, 1], rows: [word("The"), word("b\u{00E9}"), boundary(257)])
        var broken = [word("ok"), word("x")]
        broken[0][1] = 262
        broken[1][2] = 261
        let invalid = rawRows(counts: [1, 1], rows: broken)
        var seeds: [[UInt8]] = []
        for kind in 0..<5 {
            seeds.append([UInt8(kind << 1), 0] + texts)
            seeds.append([UInt8(kind << 1 | 1), 0] + tokens)
            seeds.append([UInt8(kind << 1 | 1), 0x02] + pieces)
            seeds.append([UInt8(kind << 1 | 1), 0x02] + spelled)
            seeds.append([UInt8(kind << 1), 0x02] + valid)
        }
        seeds.append([0x10, 0] + texts)                  // stateful pair
        seeds.append([0x21, 0] + tokens)                 // tiny limits
        seeds.append([0x20, 0] + Array("a b c d e f\0g".utf8))
        var mix: [UInt8] = []
        for f: Float in [0.5, -1, 2, 1.5] { mix += withUnsafeBytes(of: f.bitPattern.littleEndian, Array.init) }
        seeds.append([0x36, 0] + mix + texts)             // custom mix, elmo output
        seeds.append([0x86, 0] + texts)                   // short buffer check
        seeds.append([0x00, 0] + [0xC3, 0x28, 0x00, 0x20, 0x09])  // invalid UTF-8, a text of spaces
        seeds.append([0x06, 0x01] + texts)                // sentence boundary rows
        seeds.append([0x01, 0x01] + tokens)
        seeds.append([0x07, 0x03] + pieces)               // character ids with boundary rows (empty sentence)
        seeds.append([0x10, 0x03] + valid)                // character ids, stateful pair
        seeds.append([0x20, 0x02] + valid)                // character ids, tiny limits
        seeds.append([0x86, 0x02] + valid)                // character ids, short buffer
        seeds.append([0x06, 0x02] + invalid)              // malformed rows
        seeds.append([0x06, 0x06] + valid)                // n_characters not the model's
        return seeds
    }

    /// Rows of the "full" fuzz model (12 ids per token, see FuzzModels).
    static let rowWidth = 12

    static func word(_ text: String) -> [Int16] {
        let bytes = Array(text.utf8.prefix(rowWidth - 2))
        let row = [259] + bytes.map { Int16($0) + 1 } + [260]
        return row + Array(repeating: 261, count: rowWidth - row.count)
    }

    static func boundary(_ mark: Int16) -> [Int16] {
        [259, mark, 260] + Array(repeating: 261, count: rowWidth - 3)
    }

    /// The harness's raw character-id body: sentence count, token counts, int16 LE ids.
    static func rawRows(counts: [UInt8], rows: [[Int16]]) -> [UInt8] {
        var body = [UInt8(counts.count)] + counts
        for id in rows.joined() { body += withUnsafeBytes(of: UInt16(bitPattern: id).littleEndian, Array.init) }
        return body
    }
}
