#!/usr/bin/env bash
# Runs the C examples (bindings/c, built against the installed library) on the fixture model
# and checks what they print: shapes for every output, one row of numbers per vector, and
# cosine similarities that behave (a sentence is identical to itself, and differs from another).
# usage: run_examples.sh BIN_DIR FIXTURE_DIR
set -euo pipefail
bin=$1 model=$2
fail() { echo "run_examples: FAIL: $*" >&2; exit 1; }
if [ ! -f "$model/lm_weights.hdf5" ]; then
    echo "run_examples: SKIP: the examples need the bilm-tf fixture model at $model (set FIXTURES=...)"
    exit 0
fi

# The fixture model: token dim 16, output dim 32, 3 output layers. Line 2 is blank (skipped).
input=$'The bank of the river .\n\n  A loan\n'
declare -A expected=(
    [all]=$'# 1 (3, 6, 32)\n# 3 (3, 2, 32)'
    [word_emb]=$'# 1 (6, 16)\n# 3 (2, 16)'
    [lstm_outputs1]=$'# 1 (6, 32)\n# 3 (2, 32)'
    [lstm_outputs2]=$'# 1 (6, 32)\n# 3 (2, 32)'
    [elmo]=$'# 1 (6, 32)\n# 3 (2, 32)'
    [default]=$'# 1 (32,)\n# 3 (32,)'
)
for output in "${!expected[@]}"; do
    got=$("$bin/elmo_embed" -q -o "$output" "$model" <<<"$input") || fail "elmo_embed -o $output failed"
    [ "$got" = "${expected[$output]}" ] || fail "elmo_embed -o $output printed '$got', expected '${expected[$output]}'"
done

# Full output: after each header, one line per vector with the right number of values.
"$bin/elmo_embed" -o lstm_outputs2 "$model" <<<"$input" | awk '
    /^#/ { if (rows != want) bad = 1; want = ($3 == "(6,") ? 6 : 2; rows = 0; next }
    { rows++; if (NF != 32) bad = 1; for (i = 1; i <= NF; i++) if ($i !~ /^-?[0-9.e+-]+$/) bad = 1 }
    END { if (rows != want) bad = 1; exit bad }' || fail "elmo_embed vectors are not 32 numbers per token"

same=$("$bin/elmo_similarity" "$model" "The bank of the river ." "The  bank of the river .")
[ "$same" = "1.000000" ] || fail "a sentence's similarity with itself is $same"
other=$("$bin/elmo_similarity" "$model" "The bank of the river ." "She deposited the money .")
awk -v c="$other" 'BEGIN { exit !(c > -1 && c < 0.999999) }' || fail "two different sentences have similarity $other"

# Errors are reported, not crashed on.
if "$bin/elmo_embed" /nonexistent/model <<<"a" 2>/dev/null; then fail "elmo_embed accepted a missing model"; fi
msg=$("$bin/elmo_similarity" "$model" "ok" $'\xff' 2>&1 >/dev/null) && fail "elmo_similarity accepted invalid UTF-8"
[[ "$msg" == *"not valid UTF-8"* ]] || fail "elmo_similarity's error message is '$msg'"
"$bin/elmo_embed" -o lstm_outputs9 "$model" <<<"a" >/dev/null 2>&1 && fail "elmo_embed accepted lstm_outputs9"

echo "run_examples: OK: elmo_embed shapes and vectors for every output; elmo_similarity self 1.000000, other $other"
