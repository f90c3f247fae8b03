// fuzz-capi: the C API fed arbitrary bytes as sentences (Fuzz/CAPI/capi_harness.c), linked
// with the library's own @_cdecl exports. The model is the "full" fuzz configuration,
// written as a native file at start-up (or ELMO_FUZZ_MODEL, a model path).
import ElmoFuzzCAPI
import ElmoFuzzDriver
import ElmoFuzzHarness
#if canImport(Glibc)
import Glibc
#endif

FuzzSeeds.handleCommandLine(target: "capi")
let modelPath: String
if let given = getenv("ELMO_FUZZ_MODEL") {
    modelPath = String(cString: given)
} else {
    do {
        modelPath = try CAPIFuzz.writeModel()
    } catch {
        print("fuzz-capi: cannot write the model: \(error)")
        exit(1)
    }
}
guard elmo_fuzz_capi_init(modelPath) == 0 else { exit(1) }
runLibFuzzer { data in
    elmo_fuzz_capi_one(data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count)
}
