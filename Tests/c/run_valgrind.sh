#!/usr/bin/env bash
# The C tests and examples under valgrind: no memory errors and no definite leaks
# (--error-exitcode=1). OpenBLAS runs single-threaded: its worker pool only adds noise here.
# usage: run_valgrind.sh BIN_DIR FIXTURE_DIR
set -euo pipefail
bin=$1 model=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null || { echo "run_valgrind: FAIL: valgrind is not installed" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1

# Runs valgrind on one program. Valgrind 3.19 cannot read the DWARF 5 forms of the Swift
# toolchain's debug info and says so on every run; those lines are dropped (symbols and
# suppressions still work from the symbol table). Everything else is shown. --fair-sched:
# valgrind runs one thread at a time, and its default lock lets a busy thread starve the
# others (test_threads needs two threads really inside one session at once).
vg() {
    valgrind --quiet --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
        --suppressions="$here/valgrind.supp" "$@" \
        2> >(grep -vE '^### unhandled dwarf2 abbrev form|^get_Form_szB: unhandled|^--[0-9]+-- (WARNING: Serious error when reading debug info|When reading debug info from|get_Form_contents: unhandled)' >&2)
}

vg "$bin/test_api"
vg "$bin/test_parity"
vg "$bin/test_manylangs"
vg "$bin/test_threads"
vg "$bin/test_fuzz_replay"
if [ ! -f "$model/lm_weights.hdf5" ]; then
    echo "run_valgrind: SKIP the examples: no fixture model at $model"
    exit 0
fi
printf 'The bank of the river .\nA loan from the bank .\n' | vg "$bin/elmo_embed" -o elmo "$model" >/dev/null
vg "$bin/elmo_similarity" "$model" "a river bank" "a bank loan" >/dev/null
echo "run_valgrind: OK: test_api, test_parity, test_manylangs, test_threads, test_fuzz_replay, elmo_embed, elmo_similarity: no errors, no definite leaks"
