// fuzz-text: see Fuzz/Harness/TextFuzz.swift and FUZZING.md.
import ElmoFuzzDriver
import ElmoFuzzHarness

FuzzSeeds.handleCommandLine(target: "text")
runLibFuzzer(TextFuzz.one)
