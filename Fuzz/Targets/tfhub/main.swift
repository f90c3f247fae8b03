// fuzz-tfhub: see Fuzz/Harness/TFHubFuzz.swift and FUZZING.md.
import ElmoFuzzDriver
import ElmoFuzzHarness

FuzzSeeds.handleCommandLine(target: "tfhub")
runLibFuzzer(TFHubFuzz.one)
