#!/usr/bin/env bash
# The C tests against a libelmo.so built with a sanitizer (`make sanitize`): installs it into a
# private prefix, builds Tests/c with the toolchain's clang and the same sanitizer (the test
# program carries the sanitizer runtime the library's instrumentation calls), runs each test.
# Any report fails the run (halt_on_error / exitcode). OpenBLAS (not instrumented) runs
# single-threaded, so its own worker threads' spin synchronisation is not reported by TSan.
# usage: run_sanitized.sh address|thread SCRATCH_DIR FIXTURE_DIR
#   (SCRATCH_DIR: the --scratch-path of the instrumented build; its release/libelmo.so is tested)
set -euo pipefail
san=$1 work=$(cd "$2" && pwd) fixtures=$3
lib=$work/release/libelmo.so
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$work/prefix
version=$(sed -n 's/^#define ELMO_VERSION_STRING "\(.*\)"/\1/p' "$root/include/elmo.h")
rm -rf "$prefix" "$work/c"
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$lib" "$prefix/lib/libelmo.so.$version"
ln -s "libelmo.so.$version" "$prefix/lib/libelmo.so.0"
ln -s libelmo.so.0 "$prefix/lib/libelmo.so"
cp "$root/include/elmo.h" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$root/pkgconfig/elmo.pc.in" > "$prefix/lib/pkgconfig/elmo.pc"
toolchain=$(dirname "$(command -v swift)")
clang=$toolchain/clang
# The toolchain's TSan runtime intercepts libdispatch, so it needs the toolchain's libdispatch.
extra=""
[ "$san" = thread ] && extra="-L$toolchain/../lib/swift/linux -Wl,-rpath,$toolchain/../lib/swift/linux -ldispatch -lBlocksRuntime"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig make --no-print-directory -C "$root/Tests/c" O="$work/c" FIXTURES="$fixtures" \
    CC="$clang" CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=$san -fuse-ld=lld $extra" >/dev/null
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}
# Under TSan the 8-thread test runs for less wall time (each call is ~10x slower anyway).
export ELMO_TEST_THREAD_SECONDS=${ELMO_TEST_THREAD_SECONDS:-2}
for t in test_api test_parity test_manylangs test_threads test_fuzz_replay; do
    echo "sanitize ($san): $t"
    "$work/c/$t"
done
echo "sanitize ($san): OK: test_api, test_parity, test_manylangs, test_threads, test_fuzz_replay: no reports"
