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

    /// Seeds: each mode of the harness's first byte (see capi_harness.c) with ordinary and
    /// awkward sentences.
    public static var seeds: [[UInt8]] {
        let texts = Array("The bank of the river .\0A loan\u{3000}from the\tbank\0<S> \u{00E9}l\u{00E8}ve".utf8)
        let tokens = Array("The\0bank\0\u{01}\0A\0loan with spaces\0\u{01}\0</S>".utf8)
        var seeds: [[UInt8]] = []
        for kind in 0..<5 {
            seeds.append([UInt8(kind << 1)] + texts)
            seeds.append([UInt8(kind << 1 | 1)] + tokens)
        }
        seeds.append([0x10] + texts)                     // stateful pair
        seeds.append([0x21] + tokens)                    // tiny limits
        seeds.append([0x20] + Array("a b c d e f\0g".utf8))
        var mix: [UInt8] = []
        for f: Float in [0.5, -1, 2, 1.5] { mix += withUnsafeBytes(of: f.bitPattern.littleEndian, Array.init) }
        seeds.append([0x36] + mix + texts)                // custom mix, elmo output
        seeds.append([0x86] + texts)                      // short buffer check
        seeds.append([0x00] + [0xC3, 0x28, 0x00, 0x20, 0x09])  // invalid UTF-8, a text of spaces
        return seeds
    }
}
