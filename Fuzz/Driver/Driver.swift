// The libFuzzer entry for the fuzz executables (built only by `make fuzz`, with
// -sanitize=fuzzer,address). SwiftPM links an executable's top-level code as its `main`, so
// each target's main.swift calls `runLibFuzzer`, which hands control to libFuzzer's driver
// (LLVMFuzzerRunDriver: it parses the command line, then calls back for every input).
#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// What the running target does with one input (set once, before libFuzzer starts).
nonisolated(unsafe) private var fuzzBody: ((UnsafeRawBufferPointer) -> Void)?

/// libFuzzer's runtime archive also carries a `main` that references this symbol, so it is
/// defined (and is the callback given to the driver).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzBody?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Runs libFuzzer with the process's command line, calling `body` for every input.
public func runLibFuzzer(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    fuzzBody = body
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput))
}
