import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// Weight files as h5py writes them, read by libelmo's own HDF5 reader (`HDF5WeightFile`).
/// The official AllenNLP weights were written by bilm-tf's `dump_weights` with h5py's defaults
/// (`create_dataset(name, shape, dtype='float32')`, then `dset[...] = value`): superblock 0,
/// version 1 object headers, symbol-table groups, contiguous datasets. This test makes such
/// files with the h5py of the machine (generated at test time from a random model), loads them
/// and checks the embeddings are bit-identical to the source model's; files written with
/// settings the reader does not implement are refused with the feature named and the
/// `h5repack` command that converts them. Skipped (with the reason) when no Python with h5py
/// and numpy is available; `make test` prepares one in .build/python-venv.
final class H5pyWeightFileTests: XCTestCase {
    /// Rewrites every dataset of argv[1] into argv[2] as h5py writes it with the settings of
    /// argv[3] (a variant name below), then prints the superblock version.
    static let script = #"""
import sys, h5py
src, dst, variant = sys.argv[1], sys.argv[2], sys.argv[3]
data = []
with h5py.File(src, 'r') as f:
    f.visititems(lambda n, o: data.append((n, o[()])) if isinstance(o, h5py.Dataset) else None)
file_kw = {'earliest': dict(libver='earliest'), 'latest': dict(libver='latest'),
           'track_order': dict(track_order=True)}.get(variant, {})
dset_kw = {'chunked': dict(chunks=True), 'gzip': dict(compression='gzip')}.get(variant, {})
with h5py.File(dst, 'w', **file_kw) as f:
    for name, value in data:
        if variant == 'data':
            f.create_dataset(name, data=value, **dset_kw)
        else:  # bilm-tf's dump_weights
            d = f.create_dataset(name, value.shape, dtype='float32', **dset_kw)
            d[...] = value
with open(dst, 'rb') as f:
    print(f.read(9)[8])
"""#

    static func pythonWithH5py() throws -> (executable: String, arguments: [String]) {
        var candidates: [(String, [String])] = []
        if let env = ProcessInfo.processInfo.environment["ELMO_TEST_PYTHON"] { candidates.append((env, [])) }
        candidates.append((Fixtures.repositoryRoot + "/.build/python-venv/bin/python", []))
        candidates.append(("/usr/bin/env", ["python3"]))
        for (exe, args) in candidates where FileManager.default.isExecutableFile(atPath: exe) {
            if (try? runProcess(exe, args + ["-c", "import h5py, numpy"])) != nil { return (exe, args) }
        }
        throw XCTSkip("no Python with h5py and numpy: the h5py-written weight files are not tested. Run `make test` "
                      + "(it installs them into .build/python-venv from PyPI) or set ELMO_TEST_PYTHON")
    }

    func testFilesH5pyWritesLoadAndEmbedIdentically() throws {
        let python = try Self.pythonWithH5py()
        let dir = try temporaryDirectory()
        // Seven filters: the CNN group holds 14 datasets, more than libver='latest' keeps compact.
        var options = try XCTUnwrap(ElmoRandomModel.publishedOptions("small"))
        options.charCNN.filters = options.charCNN.filters.map { .init(width: $0.width, count: 2 + $0.width) }
        options.lstm.dim = 24
        options.lstm.projectionDim = 12
        let source = try ElmoRandomModel.write(options: options, seed: 5, directory: dir)
        let sentences = [["The", "bank", "of", "the", "river", "."], ["Loans", "from", "banks"]]
        let expected = try ElmoSession(model: ElmoModel(optionsFile: source.options, weightsFile: source.weights))
            .embed(sentences).allLayers.map(\.bitPattern)

        func write(_ variant: String) throws -> (path: String, superblock: Int) {
            let path = joinPath(dir, "\(variant).hdf5")
            let out = try runProcess(python.executable, python.arguments + ["-c", Self.script, source.weights, path, variant])
            return (path, try XCTUnwrap(Int(out.trimmingCharacters(in: .whitespacesAndNewlines)), out))
        }
        // Loaded: h5py's defaults (as dump_weights calls it, and with data=), the explicit
        // 'earliest' bounds of 2018-era files, and creation-order tracking (link messages).
        for (variant, superblock) in [("default", 0), ("data", 0), ("earliest", 0), ("track_order", 0)] {
            let file = try write(variant)
            XCTAssertEqual(file.superblock, superblock, variant)
            try assertSameAsLibHDF5(file.path, options)
            let model = try ElmoModel(optionsFile: source.options, weightsFile: file.path)
            XCTAssertEqual(try ElmoSession(model: model).embed(sentences).allLayers.map(\.bitPattern), expected, variant)
        }
        // Refused, naming the feature and the conversion.
        for (variant, feature) in [("chunked", "chunked"), ("gzip", "filters (compressed)"), ("latest", "fractal heap")] {
            let file = try write(variant)
            XCTAssertThrowsError(try ElmoModel(optionsFile: source.options, weightsFile: file.path), variant) { error in
                guard let e = error as? ElmoError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.kind, .invalidModel, e.message)
                for part in [feature, "h5repack -l CONTI -f NONE", file.path] {
                    XCTAssertTrue(e.message.contains(part), "\(variant): '\(e.message)' lacks '\(part)'")
                }
            }
        }
    }
}
