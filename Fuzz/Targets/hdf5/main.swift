// fuzz-hdf5: see Fuzz/Harness/HDF5Fuzz.swift and FUZZING.md.
import ElmoFuzzDriver
import ElmoFuzzHarness

FuzzSeeds.handleCommandLine(target: "hdf5")
runLibFuzzer(HDF5Fuzz.one)
