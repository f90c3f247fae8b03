import Elmo
import CHDF5
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// libhdf5 as packaged by Debian is built without its thread-safety option, so every call
/// into it, from any thread and any model, goes through this one lock.
let hdf5Lock = Mutex<Void>(())

private func hdf5Initialized() -> Bool {
    // H5open is idempotent; silencing the error stack keeps libhdf5 from printing to the
    // host's stderr: errors are reported as ElmoError values instead.
    _ = H5open()
    elmo_h5_silence_errors()
    return true
}

/// Whether a link exists at a slash-separated path below `file` (checks each component, as
/// H5Lexists requires). Called with the HDF5 lock held.
private func linkExists(_ file: hid_t, _ name: String) -> Bool {
    var prefix = name.hasPrefix("/") ? "/" : ""
    var any = false
    for part in name.split(separator: "/") {
        prefix += (prefix.isEmpty || prefix == "/") ? String(part) : "/" + part
        guard H5Lexists(file, prefix, elmo_h5p_default()) > 0 else { return false }
        any = true
    }
    return any
}

/// Why creating a file at `path` failed, as far as the file system tells (for messages).
func creationFailureReason(_ path: String) -> String {
    let dir = parentDirectory(path)
    switch pathKind(dir) {
    case .missing: return ": directory \(dir) does not exist"
    case .directory: return access(dir, W_OK) == 0 ? "" : ": directory \(dir) is not writable"
    default: return ": \(dir) is not a directory"
    }
}

/// A read-only HDF5 file read through libhdf5. Every method takes the global HDF5 lock.
///
/// For files the process trusts (its own outputs, test fixtures): libhdf5 trusts the files
/// it reads, and malformed ones make it leak, over-allocate or crash. Model weights come from
/// outside and are read by `HDF5WeightFile`, libelmo's own bounded reader, instead.
///
/// Float datasets stored contiguously as little-endian float32 (as the official weight
/// files store every dataset) are not copied: their tensors are views into one read-only
/// mapping of the file, at the address libhdf5 reports for the data. Anything else
/// (chunked, compressed, another float type) is read through libhdf5.
final class HDF5Reader {
    let path: String
    private let file: hid_t
    /// Whether contiguous datasets may be mapped instead of read (tests turn it off to
    /// compare both paths).
    var allowsMapping = true
    private var mapping: MemoryStorage?
    private var fileSize = 0

    init(path: String) throws {
        _ = try requireRegularFile(path, what: "weight file")
        self.path = path
        let opened: hid_t = try hdf5Lock.withLock { _ in
            _ = hdf5Initialized()
            guard H5Fis_hdf5(path) > 0 else {
                throw ElmoError(.invalidModel, "\(path): not an HDF5 file")
            }
            let f = H5Fopen(path, elmo_h5f_acc_rdonly(), elmo_h5p_default())
            guard f >= 0 else { throw ElmoError(.invalidModel, "\(path): HDF5 file cannot be opened (truncated or corrupt)") }
            return f
        }
        file = opened
        fileSize = (try? requireRegularFile(path, what: "weight file")) ?? 0
    }

    deinit {
        hdf5Lock.withLock { _ in _ = H5Fclose(file) }
    }

    /// Whether a dataset exists at a slash-separated path (checks each component, as
    /// H5Lexists requires).
    func hasDataset(_ name: String) -> Bool {
        hdf5Lock.withLock { _ in existsLocked(name) }
    }

    private func existsLocked(_ name: String) -> Bool {
        linkExists(file, name)
    }

    /// Shape of a dataset, or nil when it does not exist.
    func shape(of name: String) throws -> [Int]? {
        try hdf5Lock.withLock { _ -> [Int]? in
            guard existsLocked(name) else { return nil }
            let ds = H5Dopen2(file, name, elmo_h5p_default())
            guard ds >= 0 else { throw ElmoError(.invalidModel, "\(path): '\(name)' is not a readable dataset") }
            defer { H5Dclose(ds) }
            return try shapeLocked(ds, name)
        }
    }

    private func shapeLocked(_ ds: hid_t, _ name: String) throws -> [Int] {
        let space = H5Dget_space(ds)
        guard space >= 0 else { throw ElmoError(.invalidModel, "\(path): '\(name)' has no readable dataspace") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 8 else { throw ElmoError(.invalidModel, "\(path): '\(name)' has an unsupported rank") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) == rank else {
            throw ElmoError(.invalidModel, "\(path): '\(name)' has an unreadable shape")
        }
        return try dims.map { d in
            guard d <= hsize_t(Int32.max) else { throw ElmoError(.invalidModel, "\(path): '\(name)' has a dimension of \(d)") }
            return Int(d)
        }
    }

    /// Reads a float dataset, checking its shape against `expected` first so that a wrong
    /// file is reported before anything is allocated.
    func readFloats(_ name: String, expected: [Int]) throws -> Tensor {
        try hdf5Lock.withLock { _ -> Tensor in
            guard existsLocked(name) else { throw ElmoError.missingTensor(path, name) }
            let ds = H5Dopen2(file, name, elmo_h5p_default())
            guard ds >= 0 else { throw ElmoError(.invalidModel, "\(path): '\(name)' is not a readable dataset") }
            defer { H5Dclose(ds) }
            let actual = try shapeLocked(ds, name)
            guard actual == expected else {
                throw ElmoError.shapeMismatch(path, name, expected: expected, actual: actual)
            }
            let type = H5Dget_type(ds)
            guard type >= 0 else { throw ElmoError(.invalidModel, "\(path): '\(name)' has an unreadable type") }
            defer { H5Tclose(type) }
            guard elmo_h5_is_float_class(type) != 0 else {
                throw ElmoError(.invalidModel, "\(path): '\(name)' is not a floating-point dataset")
            }
            if allowsMapping, let mapped = mappedLocked(ds, type: type, shape: expected) { return mapped }
            let (tensor, out) = try Tensor.allocate(shape: expected)
            if tensor.count > 0 {
                let status = H5Dread(ds, elmo_h5t_native_float(), elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), out)
                guard status >= 0 else {
                    throw ElmoError(.invalidModel, "\(path): reading '\(name)' failed (truncated or corrupt file)")
                }
            }
            return tensor
        }
    }

    /// The dataset as a view into the file mapping, or nil when it cannot be one (not
    /// contiguous little-endian float32 lying entirely inside the file).
    private func mappedLocked(_ ds: hid_t, type: hid_t, shape: [Int]) -> Tensor? {
        guard let count = try? checkedElementCount(shape), count > 0 else { return nil }
        guard H5Tequal(type, elmo_h5t_ieee_f32le()) > 0 else { return nil }
        let dcpl = H5Dget_create_plist(ds)
        guard dcpl >= 0 else { return nil }
        defer { H5Pclose(dcpl) }
        guard H5Pget_layout(dcpl) == H5D_CONTIGUOUS, H5Dget_storage_size(ds) == hsize_t(count * 4) else { return nil }
        let address = H5Dget_offset(ds)
        guard address != elmo_haddr_undef() else { return nil }
        // Addresses are relative to the end of the user block, if the file has one.
        var userBlock: hsize_t = 0
        let fcpl = H5Fget_create_plist(file)
        if fcpl >= 0 {
            _ = H5Pget_userblock(fcpl, &userBlock)
            H5Pclose(fcpl)
        }
        let (start, overflow) = UInt64(address).addingReportingOverflow(UInt64(userBlock))
        guard !overflow, start % 4 == 0, start <= UInt64(fileSize), UInt64(count * 4) <= UInt64(fileSize) - start else { return nil }
        if mapping == nil {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            guard let base = mmap(nil, fileSize, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else { return nil }
            mapping = MemoryStorage(adopting: base, byteCount: fileSize) { p, n in _ = munmap(p, n) }
        }
        guard let mapping else { return nil }
        return Tensor(shape: shape, storage: mapping, byteOffset: Int(start))
    }

    /// Reads a dataset of variable-length strings (any shape) as a flat array, and its shape.
    func readVariableLengthStrings(_ name: String) throws -> (shape: [Int], values: [String]) {
        try hdf5Lock.withLock { _ -> ([Int], [String]) in
            guard existsLocked(name) else { throw ElmoError(.invalidModel, "\(path): no dataset '\(name)'") }
            let ds = H5Dopen2(file, name, elmo_h5p_default())
            guard ds >= 0 else { throw ElmoError(.invalidModel, "\(path): '\(name)' is not a readable dataset") }
            defer { H5Dclose(ds) }
            let shape = try shapeLocked(ds, name)
            let type = H5Tcopy(elmo_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, -1)  // H5T_VARIABLE
            H5Tset_cset(type, H5T_CSET_UTF8)
            let count = shape.reduce(1, *)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Dread(ds, type, elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), &pointers) >= 0 else {
                throw ElmoError(.invalidModel, "\(path): reading strings from '\(name)' failed")
            }
            defer { for p in pointers { free(p) } }
            return (shape, pointers.map { $0.map { String(cString: $0) } ?? "" })
        }
    }

    /// Names of the root group's members, sorted.
    func rootNames() -> [String] {
        hdf5Lock.withLock { _ in
            var info = H5G_info_t()
            guard H5Gget_info(file, &info) >= 0 else { return [] }
            var names: [String] = []
            for i in 0..<info.nlinks {
                let len = H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, elmo_h5p_default())
                guard len > 0, len < 4096 else { continue }
                var buf = [CChar](repeating: 0, count: Int(len) + 1)
                _ = H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(len) + 1, elmo_h5p_default())
                names.append(String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return names
        }
    }
}

/// A new HDF5 file for writing float datasets and string datasets (test models, random
/// models) through libhdf5. Every method takes the global HDF5 lock. The elmo command's output
/// is written without libhdf5, by `HDF5OutputFile` (target ElmoHDF5Output).
public final class HDF5Writer {
    public let path: String
    private var file: hid_t

    /// Creates (or truncates) the file at `path`.
    public init(path: String) throws {
        self.path = path
        file = try hdf5Lock.withLock { _ in
            _ = hdf5Initialized()
            let f = H5Fcreate(path, elmo_h5f_acc_trunc(), elmo_h5p_default(), elmo_h5p_default())
            guard f >= 0 else { throw ElmoError(.io, "\(path): cannot create HDF5 file\(creationFailureReason(path))") }
            return f
        }
    }

    deinit {
        try? close()
    }

    /// Flushes and closes the file; further writes fail.
    public func close() throws {
        guard file >= 0 else { return }
        let status = hdf5Lock.withLock { _ in H5Fclose(file) }
        file = -1
        guard status >= 0 else { throw ElmoError(.io, "\(path): closing the HDF5 file failed") }
    }

    /// Whether a link (dataset or group) exists at a slash-separated path.
    public func contains(_ name: String) -> Bool {
        hdf5Lock.withLock { _ in file >= 0 && linkExists(file, name) }
    }

    /// Writes a float32 dataset; intermediate groups in `name` are created as needed.
    public func write(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>) throws {
        guard values.count == shape.reduce(1, *) else {
            throw ElmoError(.invalidArgument, "\(values.count) values do not fill shape \(formatShape(shape)) for '\(name)'")
        }
        try hdf5Lock.withLock { _ in
            guard file >= 0 else { throw ElmoError(.io, "\(path): file is closed") }
            var dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), &dims, nil)
            guard space >= 0 else { throw ElmoError(.io, "\(path): cannot create dataspace for '\(name)'") }
            defer { H5Sclose(space) }
            let lcpl = H5Pcreate(elmo_h5p_link_create())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            let ds = H5Dcreate2(file, name, elmo_h5t_ieee_f32le(), space, lcpl, elmo_h5p_default(), elmo_h5p_default())
            guard ds >= 0 else { throw ElmoError(.io, "\(path): cannot create dataset '\(name)'") }
            if values.count > 0 {
                guard H5Dwrite(ds, elmo_h5t_native_float(), elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), values.baseAddress) >= 0 else {
                    H5Dclose(ds)
                    throw ElmoError(.io, "\(path): writing '\(name)' failed")
                }
            }
            guard H5Dclose(ds) >= 0 else { throw ElmoError(.io, "\(path): writing '\(name)' failed") }
        }
    }

    public func write(_ name: String, shape: [Int], values: [Float]) throws {
        try values.withUnsafeBufferPointer { try write(name, shape: shape, values: $0) }
    }

    /// Writes a scalar variable-length UTF-8 string dataset (what h5py creates for a str).
    public func writeString(_ name: String, _ value: String) throws {
        try hdf5Lock.withLock { _ in
            guard file >= 0 else { throw ElmoError(.io, "\(path): file is closed") }
            let type = H5Tcopy(elmo_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, -1)  // H5T_VARIABLE: size_t(-1), imported as Int
            H5Tset_cset(type, H5T_CSET_UTF8)
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let ds = H5Dcreate2(file, name, type, space, elmo_h5p_default(), elmo_h5p_default(), elmo_h5p_default())
            guard ds >= 0 else { throw ElmoError(.io, "\(path): cannot create dataset '\(name)'") }
            defer { H5Dclose(ds) }
            let status: herr_t = value.withCString { cstr in
                var ptr: UnsafePointer<CChar>? = cstr
                return H5Dwrite(ds, type, elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), &ptr)
            }
            guard status >= 0 else { throw ElmoError(.io, "\(path): writing '\(name)' failed") }
        }
    }
}
