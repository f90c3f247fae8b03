// fuzz-options: see Fuzz/Harness/OptionsFuzz.swift and FUZZING.md.
import ElmoFuzzDriver
import ElmoFuzzHarness

FuzzSeeds.handleCommandLine(target: "options")
runLibFuzzer(OptionsFuzz.one)
