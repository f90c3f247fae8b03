// fuzz-manylangs: see Fuzz/Harness/ManyLangsFuzz.swift and FUZZING.md.
import ElmoFuzzDriver
import ElmoFuzzHarness

FuzzSeeds.handleCommandLine(target: "manylangs")
runLibFuzzer(ManyLangsFuzz.one)
