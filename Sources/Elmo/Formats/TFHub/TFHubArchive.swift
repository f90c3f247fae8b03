/// A TF Hub module downloaded as a tarball (`https://tfhub.dev/google/elmo/3?tf-hub-format=compressed`,
/// or the same module from Kaggle Models): the checkpoint members are extracted into memory,
/// everything else is skipped without being stored.
///
/// Member names are taken relative to the module root, with or without a leading "./"
/// (TF Hub's own tarballs use "./variables/variables.index").
enum TFHubArchive {
    /// Bound on the data shards kept in memory together (google/elmo/3's are 357 MB).
    static let maxDataBytes = 1 << 34
    static let indexMember = "variables/variables.index"
    static let dataMemberPrefix = "variables/variables.data-"

    /// "./variables/x" and "/variables/x" -> "variables/x".
    static func normalize(_ name: String) -> String {
        var n = Substring(name)
        while true {
            if n.hasPrefix("./") { n = n.dropFirst(2) } else if n.hasPrefix("/") { n = n.dropFirst() } else { break }
        }
        return String(n)
    }

    /// Reads the archive at `path` and returns the checkpoint it holds.
    static func bundle(path: String) throws -> TensorBundle {
        let tar = TarReader(input: try ArchiveInput(path: path))
        var index: [UInt8]?
        var shards: [String: MemoryStorage] = [:]
        var dataBytes = 0
        var names: [String] = []  // the first few, for an error message
        var memberCount = 0
        while let member = try tar.next() {
            let name = normalize(member.name)
            memberCount += 1
            if names.count < 8 { names.append(name) }
            guard member.isRegularFile else { continue }
            if name == indexMember {
                let data = try tar.readData(limit: TensorBundle.maxIndexBytes)
                index = [UInt8](UnsafeRawBufferPointer(start: data.base, count: data.byteCount))
            } else if name.hasPrefix(dataMemberPrefix) {
                let data = try tar.readData(limit: maxDataBytes - dataBytes)
                dataBytes += data.byteCount
                shards[name] = data
            }
        }
        try tar.finish()
        guard let indexBytes = index else {
            throw ElmoError(.invalidModel, "\(path): no \(indexMember) in the archive: not a TF Hub module in TF1 Hub format (members: \(names.isEmpty ? "none" : names.map { "'\($0)'" }.joined(separator: ", "))\(memberCount > names.count ? ", ... (\(memberCount) in all)" : ""))")
        }
        return try TensorBundle(indexBytes: indexBytes, indexName: "\(path): \(indexMember)") { id, count in
            let member = TensorBundle.dataFileName(prefix: "variables/variables", shard: id, of: count)
            guard let storage = shards[member] else {
                throw ElmoError(.invalidModel, "\(path): the archive has no member \(member), which the checkpoint index names")
            }
            return MemoryDataSource(name: "\(path): \(member)", storage: storage)
        }
    }
}
