#!/usr/bin/env bash
# Runs the libFuzzer targets (built by `make fuzz-build` into .build-fuzz) for SECONDS each.
# usage: Fuzz/run.sh SECONDS [TARGET...]    (default: every target)
# Each target starts from its generated seeds (written by the target itself from the
# committed fixtures and, if present, the bilm-tf fixtures at $FIXTURES), the committed
# crash inputs of Fuzz/regressions/TARGET (replayed first: a fixed bug must stay fixed) and
# the corpus of earlier runs (.build-fuzz/corpus/TARGET, kept between runs). A crash, leak,
# timeout or single allocation above 1 GiB fails the run; the input is saved under
# .build-fuzz/artifacts/TARGET/ and the command to replay it is printed.
set -euo pipefail
seconds=${1:?usage: Fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(native options hdf5 text tfhub manylangs capi)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FUZZ_BIN:-$root/.build-fuzz/release}
work=${FUZZ_WORK:-$root/.build-fuzz}
fixtures=${FIXTURES:-$root/../shared/fixtures/bilm-tf}
[ -f "$fixtures/lm_weights.hdf5" ] || fixtures=""

# Largest input per target: room for its largest seed (the bilm-tf fixture's weights are
# 450 KB), else small enough that mutations mostly land on structure.
declare -A max_len=([native]=65536 [options]=8192 [hdf5]=524288 [text]=4096 [tfhub]=65536 [manylangs]=16384 [capi]=4096)
summary=()
for t in "${targets[@]}"; do
    [ -x "$bin/fuzz-$t" ] || { echo "fuzz: $bin/fuzz-$t is not built (make fuzz-build)" >&2; exit 1; }
    seeds=$work/seeds/$t corpus=$work/corpus/$t artifacts=$work/artifacts/$t/
    rm -rf "$seeds"
    mkdir -p "$seeds" "$corpus" "$artifacts"
    "$bin/fuzz-$t" --write-seeds "$seeds" --repository "$root" ${fixtures:+--fixtures "$fixtures"}
    dirs=("$corpus" "$seeds")
    [ -d "$root/Fuzz/regressions/$t" ] && dirs+=("$root/Fuzz/regressions/$t")
    dict=()
    [ -f "$root/Fuzz/dict/$t.dict" ] && dict=(-dict="$root/Fuzz/dict/$t.dict")
    log=$work/fuzz-$t.log
    echo "fuzz: $t for ${seconds}s (log: $log)"
    status=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
        "$bin/fuzz-$t" "${dirs[@]}" "${dict[@]}" -max_total_time="$seconds" -max_len="${max_len[$t]}" \
        -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$artifacts" >"$log" 2>&1 || status=$?
    stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/.*exec\/s: ([0-9]+).*/runs \1, edges (cov) \2, features (ft) \3, corpus \4 inputs, \5 exec\/s/')
    if [ $status -ne 0 ]; then
        echo "fuzz: $t FAILED (exit $status):" >&2
        grep -E 'ERROR|SUMMARY|fuzz invariant|Fatal error|Test unit written' "$log" | head -20 >&2 || true
        echo "fuzz: replay with: $bin/fuzz-$t <artifact>   (full log: $log)" >&2
        exit 1
    fi
    summary+=("$t: $stats")
done
printf 'fuzz: OK: %s\n' "${summary[@]}"
