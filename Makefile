# libelmo: the one entry point. `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
# The fixture model (a small real ELMo) is the default so the demo runs offline; point
# MODEL at a directory holding an official options.json + weights.hdf5 for the real thing.
FIXTURES ?= $(abspath ../shared/fixtures/bilm-tf)
MODEL ?= $(FIXTURES)

.PHONY: help build release demo test test-swift test-python-env bench clean

help:
	@echo "make build        debug build"
	@echo "make release      optimised build"
	@echo "make demo MODEL=<dir or weights.hdf5>   embed example sentences, print shapes and cosine table"
	@echo "make test         every test suite"
	@echo "make bench        benchmark on a random original-size model (see BENCHMARKS.md)"

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

demo: release
	$(SWIFT) run -c release --skip-build elmo-demo "$(MODEL)"

test: test-swift

test-swift: test-python-env
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Python with safetensors + numpy (from PyPI) for the test that the native model file is a
# valid safetensors file. Without python3-venv or network the test is skipped with a message.
TEST_VENV := .build/test-venv
test-python-env:
	@if ! $(TEST_VENV)/bin/python -c "import safetensors, numpy" 2>/dev/null; then \
	  (python3 -m venv $(TEST_VENV) && $(TEST_VENV)/bin/pip install -q safetensors numpy) \
	  || echo "note: could not prepare $(TEST_VENV): the safetensors interoperability test will be skipped"; \
	fi

# The benchmark: release build, the random original-size model written once under
# .build/bench-models, every figure of BENCHMARKS.md printed. BENCH_ARGS passes options
# (e.g. BENCH_ARGS="--batch1 2000" for batch 1 over the whole corpus).
BENCH_CORPUS ?= $(abspath ../shared/bench/corpus.txt)
BENCH_ARGS ?=
bench: release
	.build/release/elmo-bench --corpus "$(BENCH_CORPUS)" $(BENCH_ARGS)

clean:
	rm -rf .build
