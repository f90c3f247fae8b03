// fuzz-native: see Fuzz/Harness/NativeFuzz.swift and FUZZING.md.
import ElmoFuzzDriver
import ElmoFuzzHarness

FuzzSeeds.handleCommandLine(target: "native")
runLibFuzzer(NativeFuzz.one)
