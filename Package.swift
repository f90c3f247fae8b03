// swift-tools-version:6.0
import PackageDescription

// libelmo, top to bottom: the products, then every target after the targets it depends on:
// system libraries, the library itself (kernels, core, C exports, the command), then what only
// tests, the benchmark and fuzzing use. `import Elmo` as a versioned dependency needs the Elmo
// product's targets (CZlib, CElmoKernels, Elmo) to carry no unsafe flags: SwiftPM refuses them
// there (Tests/package checks it). Flags only a local build wants are passed by the Makefile.

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
/// These unsafe flags are only in ElmoC: SwiftPM refuses a versioned dependency on the `elmo`
/// product for them, but not on `Elmo` (checked per product), and libelmo.so is built here.
let sanitizing = Context.environment["ELMO_SANITIZE"] == "1"
let cLibraryLinkFlags = [
    "-static-stdlib",
    "-use-ld=lld",
] + (sanitizing ? [] : ["-Xlinker", "--no-undefined"]) + [
    "-Xlinker", "--version-script=\(packageDirectory)/Sources/ElmoC/exports.map",
    "-Xlinker", "-soname=libelmo.so.0",
    "-Xlinker", "-z", "-Xlinker", "nodelete",
]

/// The libFuzzer executables exist only for `make fuzz` (ELMO_FUZZ=1; see fuzzTargets below).
let fuzzing = Context.environment["ELMO_FUZZ"] == "1"

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
        // ---- System libraries (pkg-config) ----
        // zlib: TF Hub tarballs; the only system library of `import Elmo`, libelmo.so and the command.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libhdf5: only ElmoHDF5 (tests, fuzzing, the benchmark); the core reads HDF5 by itself.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        // OpenBLAS: only the benchmark's roofline and the accuracy reference.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // include/elmo.h seen from Swift, so the exports (and the command) use the header's own types.
        .systemLibrary(name: "CElmoABI"),

        // ---- The library ----
        // The C kernels (GEMM, bf16, int8, activations) with run-time CPU dispatch. No unsafe
        // flags: the DWARF 4 valgrind needs is the Makefile's (RELEASE_BUILD: -Xcc -gdwarf-4).
        .target(name: "CElmoKernels"),
        // The core: model files, weights, the encoder. Reads weight files with its own bounded
        // HDF5 reader, so `import Elmo` and libelmo.so need only the C runtime and zlib.
        .target(name: "Elmo", dependencies: ["CZlib", "CElmoKernels"]),
        // libelmo.so: the @_cdecl exports only, linked as cLibraryLinkFlags says.
        .target(name: "ElmoC", dependencies: ["Elmo", "CElmoABI"],
                exclude: ["exports.map"],
                swiftSettings: [.unsafeFlags(["-static-stdlib"])],
                linkerSettings: [.unsafeFlags(cLibraryLinkFlags)]),
        // The HDF5 files `elmo embed` writes (allennlp's layout), without libhdf5: the elmo
        // command needs only the C runtime (HDF5OutputFile.swift says why and how).
        .target(name: "ElmoHDF5Output", dependencies: ["Elmo"]),
        // The `elmo` command. No networking code: model names are resolved (and downloaded)
        // by the Python package's resolver, run as a child process (ModelResolver.swift).
        .executableTarget(name: "elmo-cli", dependencies: [
            "Elmo", "ElmoHDF5Output", "CElmoABI", "CZlib", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // ---- Tests, benchmark, fuzzing, accuracy: never linked into a product ----
        // libhdf5 for what is not the library's job: reading trusted HDF5 files in tests and
        // writing random models (tests, fuzzing, the benchmark).
        .target(name: "ElmoHDF5", dependencies: ["Elmo", "CHDF5"]),
        // What each fuzz target does with one input, through the core's public and package APIs, so the unit tests
        // replay committed crash inputs through the very same code (FuzzRegressionTests; FUZZING.md).
        .target(name: "ElmoFuzzHarness", dependencies: ["Elmo", "ElmoHDF5"], path: "Fuzz/Harness"),
        // Accuracy against float64 (`make accuracy`, BENCHMARKS.md): a dense float64 reference and
        // a plain fp32 evaluation (BLAS products, libm activations), for CI cases and the benchmark.
        .target(name: "ElmoAccuracy", dependencies: ["Elmo", "ElmoHDF5", "COpenBLAS"], path: "bench/accuracy"),
        // The Swift tests (`swift test`).
        .testTarget(name: "ElmoTests", dependencies: [
            "Elmo", "ElmoHDF5", "ElmoHDF5Output", "CHDF5", "CZlib", "ElmoFuzzHarness", "ElmoAccuracy",
        ]),
        // The benchmark-only kernels: the register-only vdpbf16ps / vpdpbusd peak loops (`make bench`).
        .target(name: "ElmoBenchKernels", dependencies: ["CElmoKernels"], path: "bench/kernels"),
        // `make bench`: the benchmark driver (method and results in BENCHMARKS.md).
        .executableTarget(name: "elmo-bench", dependencies: ["Elmo", "ElmoHDF5", "COpenBLAS", "CElmoKernels", "ElmoAccuracy",
                                                             "ElmoBenchKernels"],
                          path: "bench/elmo-bench"),
    ] + (fuzzing ? fuzzTargets : [])
)

/// The libFuzzer executables (`make fuzz`, FUZZING.md): built in .build-fuzz with
/// -sanitize=fuzzer,address, without whose fuzzer runtime they cannot link, hence only with
/// ELMO_FUZZ=1. lld: gold crashes on the sanitizer runtimes' debug info.
var fuzzTargets: [Target] {
    // The libFuzzer entry point each fuzz executable forwards to.
    [.target(name: "ElmoFuzzDriver", path: "Fuzz/Driver")]
    // One executable per input format, each running its ElmoFuzzHarness function.
    + ["native", "options", "hdf5", "text", "tfhub", "manylangs"].map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["ElmoFuzzHarness", "ElmoFuzzDriver"],
                          path: "Fuzz/Targets/\(name)",
                          linkerSettings: [.unsafeFlags(["-use-ld=lld"])])
    } + [
        // The C API target's C harness (also compiled by the C tests to replay crash inputs)...
        .target(name: "ElmoFuzzCAPI", path: "Fuzz/CAPI", cSettings: [.headerSearchPath("../../include")]),
        // ...linked with the @_cdecl exports themselves.
        .executableTarget(name: "fuzz-capi", dependencies: ["ElmoC", "ElmoFuzzCAPI", "ElmoFuzzDriver", "ElmoFuzzHarness"],
                          path: "Fuzz/Targets/capi"),
    ]
}
