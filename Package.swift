// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "libelmo",
    products: [
        // `import Elmo`: the Swift API of the encoder.
        .library(name: "Elmo", targets: ["Elmo"]),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .target(name: "CElmoKernels"),
        .target(name: "Elmo", dependencies: ["COpenBLAS", "CHDF5", "CElmoKernels"]),
        .executableTarget(name: "elmo-demo", dependencies: ["Elmo"]),
        // `make bench`: the benchmark driver (method and results in BENCHMARKS.md).
        .executableTarget(name: "elmo-bench", dependencies: ["Elmo", "COpenBLAS", "CElmoKernels"], path: "bench/elmo-bench"),
        .testTarget(name: "ElmoTests", dependencies: ["Elmo"]),
    ]
)
