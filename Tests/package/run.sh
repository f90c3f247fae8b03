#!/usr/bin/env bash
# `import Elmo` as a Swift user adds it: by version. This package, as it is on disk, committed
# to a fresh git repository and tagged VERSION; a throwaway package that depends on it with
# `.package(url: "file://...", from: VERSION)` and uses only the `Elmo` product (consumer/).
# Checks that SwiftPM accepts the dependency (it refuses unsafe build flags in a versioned
# dependency's product), that the build needs neither OpenBLAS nor HDF5 (no such compiler or
# linker flag, module or library), then runs the consumer on the bilm-tf fixture and compares
# the numbers with bilm-tf's own outputs (compare.py); that part skips when the fixture is absent.
# Offline: the dependencies resolve as for this package (swift-argument-parser included).
# usage: run.sh VERSION FIXTURE_DIR PYTHON   (PYTHON: one with numpy and h5py)
set -euo pipefail
version=$1 fixtures=$2 python=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
swift=${SWIFT:-swift}
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/elmo-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The repository's files (tracked and new, not ignored, not deleted) so that uncommitted edits
# are tested as every other suite tests them, committed and tagged as a release would be.
mkdir "$work/libelmo"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
    tar --null -T - -cf -) | tar -xf - -C "$work/libelmo"
git -C "$work/libelmo" init -q
git -C "$work/libelmo" add -A
git -C "$work/libelmo" -c user.name=test-package -c user.email=test-package@localhost commit -qm "libelmo $version"
git -C "$work/libelmo" tag "$version"

mkdir -p "$work/consumer/Sources/consumer"
sed -e "s|@URL@|file://$work/libelmo|" -e "s|@VERSION@|$version|" "$here/consumer/Package.swift.in" \
    > "$work/consumer/Package.swift"
cp "$here/consumer/main.swift" "$work/consumer/Sources/consumer/main.swift"
cd "$work/consumer"
# ELMO_FUZZ / ELMO_SANITIZE would reach the dependency's manifest too: a user has neither.
if ! env -u ELMO_FUZZ -u ELMO_SANITIZE "$swift" build -v >build.log 2>&1; then
    grep -E 'error|warning: .*unsafe' build.log | head -20 >&2 || tail -20 build.log >&2
    fail "swift build of a package depending on libelmo $version by version failed"
fi

# Resolved by version, from the tag.
"$python" - "$version" <<'PY' || fail "Package.resolved does not pin libelmo at the tag"
import json, sys
pins = {p["identity"]: p for p in json.load(open("Package.resolved"))["pins"]}
state = pins["libelmo"]["state"]
assert state.get("version") == sys.argv[1], state
PY

# No OpenBLAS or HDF5: neither in any command of the build (compiler and linker flags, include
# paths from pkg-config, the system-library modules) nor among the executable's libraries.
# First make sure the log is the one that compiled the Elmo module, or the check says nothing.
grep -q -- '-module-name Elmo ' build.log || fail "build.log does not show the Elmo module being compiled"
pattern='openblas|hdf5/serial|hdf5_serial|-lhdf5|\bCHDF5\b'
if grep -m5 -inE "$pattern" build.log .build/debug.yaml >&2; then
    fail "the build of a package using only the Elmo product mentions OpenBLAS or libhdf5 (above)"
fi
exe=.build/debug/consumer
if ldd "$exe" | grep -iE 'openblas|hdf5' >&2; then fail "$exe needs OpenBLAS or libhdf5 (above)"; fi
echo "test-package: libelmo $version as a versioned dependency: SwiftPM accepted it; no OpenBLAS or HDF5 in" \
     "the build's commands (build.log, debug.yaml) nor in ldd $exe ($(ldd "$exe" | wc -l) libraries)"

if [ ! -f "$fixtures/lm_weights.hdf5" ]; then
    echo "test-package: SKIP the numbers: no bilm-tf fixture at $fixtures (set ELMO_FIXTURES)"
    exit 0
fi
"$exe" "$fixtures" >output.txt || fail "the consumer failed on the fixture"
"$python" "$here/compare.py" output.txt "$fixtures" || fail "the consumer's numbers differ from bilm-tf's"
echo "test-package: OK ($((SECONDS - start)) s)"
