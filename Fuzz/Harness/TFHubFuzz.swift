// Target `tfhub`: TF Hub modules read without TensorFlow. The first byte picks the form:
// - even: the rest is a module archive (gzip-compressed or plain tar: the tar reader, the
//   gunzip stream and everything after them);
// - odd: bytes 1...4 are a little-endian length L, the next L bytes the checkpoint index
//   (variables.index: the SSTable, the bundle protobufs) and the rest its data shard; they
//   become a module directory.
// A module that loads (options inferred from its shapes) must embed.
import Elmo
#if canImport(Glibc)
import Glibc
#endif

public enum TFHubFuzz {
    public static func one(_ data: UnsafeRawBufferPointer) {
        guard let mode = data.first else { return }
        let rest = UnsafeRawBufferPointer(rebasing: data.dropFirst())
        let path: String
        if mode % 2 == 0 {
            path = FuzzScratch.write("module.tar.gz", rest)
        } else {
            guard rest.count >= 4 else { return }
            let length = Int(rest[0]) | Int(rest[1]) << 8 | Int(rest[2]) << 16 | Int(rest[3]) << 24
            let body = UnsafeRawBufferPointer(rebasing: rest.dropFirst(4))
            let indexLength = min(length, body.count)
            let dir = FuzzScratch.makeDirectory("module/variables")
            FuzzScratch.write("module/variables/variables.index", UnsafeRawBufferPointer(rebasing: body.prefix(indexLength)))
            FuzzScratch.write("module/variables/variables.data-00000-of-00001",
                              UnsafeRawBufferPointer(rebasing: body.dropFirst(indexLength)))
            path = String(dir.dropLast("/variables".count))
        }
        guard let model = expectingElmoErrors("TF Hub load", { try ElmoModel(tfHubModule: path, loadOptions: fuzzLoadOptions) }) else {
            return
        }
        exerciseLoadedModel(model)
    }

    /// Seeds from the committed TF Hub fixture (Tests/Fixtures/tfhub): the tarball, the same
    /// archive uncompressed, and the module's index and data shard.
    public static func writeSeeds(to directory: String, repository: String) throws {
        let fixture = repository + "/Tests/Fixtures/tfhub"
        guard let tarball = readWholeFile(fixture + "/module.tar.gz"),
              let index = readWholeFile(fixture + "/module/variables/variables.index"),
              let shard = readWholeFile(fixture + "/module/variables/variables.data-00000-of-00001") else {
            throw ElmoError(.io, "\(fixture): the TF Hub fixture is missing")
        }
        _ = writeFile(directory + "/archive.tar.gz", [0] + tarball)
        if let tar = gunzip(fixture + "/module.tar.gz") { _ = writeFile(directory + "/archive.tar", [2] + tar) }
        let n = index.count
        let length: [UInt8] = [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)]
        _ = writeFile(directory + "/directory.bin", [1] + length + index + shard)
    }

    /// The decompressed bytes of a gzip file (through the system's gzip).
    static func gunzip(_ path: String) -> [UInt8]? {
        guard let pipe = popen("gzip -dc '\(path)'", "r") else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, pipe) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return pclose(pipe) == 0 ? bytes : nil
    }
}
