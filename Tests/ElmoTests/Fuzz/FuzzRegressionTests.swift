import XCTest
@testable import Elmo
import ElmoFuzzHarness

/// Every input the fuzzers once crashed on (Fuzz/regressions/<target>/, see FUZZING.md) is
/// replayed through the very harness that found it: the harness checks its invariants and
/// crashes the test process if one breaks, so a returning bug fails this test run. (The C
/// API target's inputs are replayed by Tests/c/test_fuzz_replay.c.)
final class FuzzRegressionTests: XCTestCase {
    static let regressions = Fixtures.repositoryRoot + "/Fuzz/regressions"

    func replay(_ target: String, _ harness: (UnsafeRawBufferPointer) -> Void) throws {
        let dir = FuzzRegressionTests.regressions + "/" + target
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.sorted() ?? []
        for name in names {
            let bytes = try XCTUnwrap(readWholeFile(dir + "/" + name), name)
            bytes.withUnsafeBytes { harness($0) }
        }
    }

    func testOptionsInputs() throws { try replay("options", OptionsFuzz.one) }
    func testTextInputs() throws { try replay("text", TextFuzz.one) }
    func testNativeInputs() throws { try replay("native", NativeFuzz.one) }
    func testHDF5Inputs() throws { try replay("hdf5", HDF5Fuzz.one) }
    func testTFHubInputs() throws { try replay("tfhub", TFHubFuzz.one) }
    func testManyLangsInputs() throws { try replay("manylangs", ManyLangsFuzz.one) }

    /// The seeds each target starts from are themselves valid inputs for its harness (a
    /// harness whose seeds fail could not find anything beyond them).
    func testSeedsRunThroughTheirHarness() throws {
        for seed in OptionsFuzz.seeds { seed.withUnsafeBytes { OptionsFuzz.one($0) } }
        for seed in TextFuzz.seeds { seed.withUnsafeBytes { TextFuzz.one($0) } }
        let dir = NSTemporaryDirectory() + "elmo-fuzz-seeds-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let harnesses: [(String, (UnsafeRawBufferPointer) -> Void)] = [
            ("native", NativeFuzz.one), ("hdf5", HDF5Fuzz.one), ("tfhub", TFHubFuzz.one), ("manylangs", ManyLangsFuzz.one),
        ]
        for (target, harness) in harnesses {
            let out = dir + "/" + target
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try FuzzSeeds.write(target: target, to: out, repository: Fixtures.repositoryRoot, fixtures: Fixtures.directory)
            let files = try FileManager.default.contentsOfDirectory(atPath: out)
            XCTAssertFalse(files.isEmpty, target)
            for f in files {
                let bytes = try XCTUnwrap(readWholeFile(out + "/" + f))
                bytes.withUnsafeBytes { harness($0) }
            }
        }
    }
}
