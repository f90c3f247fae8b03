// swift-tools-version:6.0
import PackageDescription

/// Absolute path of this package (the linker needs one for the version script).
let packageDirectory = String("\(#filePath)".dropLast("/Package.swift".count))

/// How libelmo.so is linked (see /work/shared/notes/platform-facts.md):
/// - the Swift runtime linked statically (-static-stdlib when compiling AND linking), so the
///   library needs no Swift toolchain libraries at run time; --no-undefined turns a runtime
///   symbol left unresolved into a build error instead of a library that fails to load;
/// - only `elmo_*` exported (version script), SONAME carrying the ABI major version
///   (keep in step with ELMO_VERSION_MAJOR in include/elmo.h; `make check-abi` verifies it);
/// - -z nodelete: the library (its Swift runtime, its pthread key destructor) is never unmapped
///   by dlclose while threads that used it may still exit.
/// `make sanitize` (ELMO_SANITIZE=1) builds an instrumented library whose __asan_* / __tsan_*
/// calls the test program's sanitizer runtime resolves: only then is --no-undefined left out.
let sanitizing = Context.environment["ELMO_SANITIZE"] == "1"
let cLibraryLinkFlags = [
    "-static-stdlib",
    "-use-ld=lld",
] + (sanitizing ? [] : ["-Xlinker", "--no-undefined"]) + [
    "-Xlinker", "--version-script=\(packageDirectory)/Sources/ElmoC/exports.map",
    "-Xlinker", "-soname=libelmo.so.0",
    "-Xlinker", "-z", "-Xlinker", "nodelete",
]

let package = Package(
    name: "libelmo",
    products: [
        // `import Elmo`: the Swift API of the encoder.
        .library(name: "Elmo", targets: ["Elmo"]),
        // libelmo.so: the C API of include/elmo.h.
        .library(name: "elmo", type: .dynamic, targets: ["ElmoC"]),
        // The `elmo` command (installed as PREFIX/bin/elmo; the product name `elmo` is taken by libelmo.so).
        .executable(name: "elmo-cli", targets: ["elmo-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // DWARF 4: valgrind 3.19 (Debian's) gives up on the whole library when it meets the
        // DWARF 5 that clang 21 emits for the vector kernels (make test runs the C tests under it).
        .target(name: "CElmoKernels", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        // The core: no system library but zlib (TF Hub tarballs), so `import Elmo` and libelmo.so
        // need only the C runtime. Weight files are read by its own bounded HDF5 reader.
        .target(name: "Elmo", dependencies: ["CZlib", "CElmoKernels"]),
        // libhdf5 for what is not the library's job: reading trusted HDF5 files in tests and
        // writing random models (tests, fuzzing, the benchmark). Never linked into libelmo.so
        // or the elmo command.
        .target(name: "ElmoHDF5", dependencies: ["Elmo", "CHDF5"]),
        // The HDF5 files `elmo embed` writes (allennlp's layout), without libhdf5: the elmo
        // command needs only the C runtime (HDF5OutputFile.swift says why and how).
        .target(name: "ElmoHDF5Output", dependencies: ["Elmo"]),
        // include/elmo.h seen from Swift, so the exports use the header's own types.
        .systemLibrary(name: "CElmoABI"),
        // The @_cdecl exports only. Unsafe flags stay in this target: packages depending on
        // `Elmo` are unaffected.
        .target(name: "ElmoC", dependencies: ["Elmo", "CElmoABI"],
                exclude: ["exports.map"],
                swiftSettings: [.unsafeFlags(["-static-stdlib"])],
                linkerSettings: [.unsafeFlags(cLibraryLinkFlags)]),
        // The command-line tool. No networking code: model names are resolved (and downloaded)
        // by the Python package's resolver, run as a child process (ModelResolver.swift).
        .executableTarget(name: "elmo-cli", dependencies: [
            "Elmo", "ElmoHDF5Output", "CElmoABI", "CZlib", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "ElmoTests", dependencies: ["Elmo", "ElmoHDF5", "ElmoHDF5Output", "CHDF5", "CZlib"]),
        // `make bench`: the benchmark driver (method and results in BENCHMARKS.md).
        .executableTarget(name: "elmo-bench", dependencies: ["Elmo", "ElmoHDF5", "COpenBLAS", "CElmoKernels"], path: "bench/elmo-bench"),
    ]
)

// ---- Fuzzing and robustness (branch robust; FUZZING.md) -------------------------------------
// ElmoFuzzHarness: what each fuzz target does with one input, through public APIs only, so the
// unit tests replay committed crash inputs through the very same code (FuzzRegressionTests).
package.targets.append(.target(name: "ElmoFuzzHarness", dependencies: ["Elmo", "ElmoHDF5"], path: "Fuzz/Harness"))
package.targets.first { $0.name == "ElmoTests" }?.dependencies.append("ElmoFuzzHarness")
// The libFuzzer executables exist only for `make fuzz` (ELMO_FUZZ=1), which builds them in
// .build-fuzz with -sanitize=fuzzer,address: without the fuzzer runtime they cannot link.
// lld: gold crashes on the sanitizer runtimes' debug info.
if Context.environment["ELMO_FUZZ"] == "1" {
    package.targets.append(.target(name: "ElmoFuzzDriver", path: "Fuzz/Driver"))
    for name in ["native", "options", "hdf5", "text", "tfhub", "manylangs"] {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: ["ElmoFuzzHarness", "ElmoFuzzDriver"],
                                                 path: "Fuzz/Targets/\(name)",
                                                 linkerSettings: [.unsafeFlags(["-use-ld=lld"])]))
    }
    // The C API target: a C harness (also compiled by the C tests to replay crash inputs)
    // linked with the @_cdecl exports themselves.
    package.targets.append(.target(name: "ElmoFuzzCAPI", path: "Fuzz/CAPI", cSettings: [.headerSearchPath("../../include")]))
    package.targets.append(.executableTarget(name: "fuzz-capi", dependencies: ["ElmoC", "ElmoFuzzCAPI", "ElmoFuzzDriver",
                                                                           "ElmoFuzzHarness"],
                                             path: "Fuzz/Targets/capi"))
}
// ---- end of fuzzing and robustness ----------------------------------------------------------

// ---- Accuracy against float64 (issue 14; `make accuracy`, BENCHMARKS.md) -------------------
// A dense float64 reference and a plain fp32 evaluation (BLAS products, libm activations) of
// ELMo, shared by the CI accuracy cases and the benchmark's accuracy table.
package.targets.append(.target(name: "ElmoAccuracy", dependencies: ["Elmo", "ElmoHDF5", "COpenBLAS"], path: "bench/accuracy"))
package.targets.first { $0.name == "ElmoTests" }?.dependencies.append("ElmoAccuracy")
package.targets.first { $0.name == "elmo-bench" }?.dependencies.append("ElmoAccuracy")
// ---- end of accuracy ------------------------------------------------------------------------

// ---- Benchmark-only kernels (issue 19): the register-only vdpbf16ps / vpdpbusd peak loops --
package.targets.append(.target(name: "ElmoBenchKernels", dependencies: ["CElmoKernels"], path: "bench/kernels"))
package.targets.first { $0.name == "elmo-bench" }?.dependencies.append("ElmoBenchKernels")
