#!/usr/bin/env bash
# The installed libelmo.so as the ABI promises it:
# - its dynamic symbol table defines exactly the functions elmo.h declares, nothing else;
# - it needs no Swift runtime (nor Foundation, ICU, libdispatch) at run time, and nothing beyond
#   the C runtime and zlib (check_needed.sh: no OpenBLAS, no libhdf5);
# - its SONAME is libelmo.so.<ELMO_VERSION_MAJOR>, with the install symlinks in place;
# - pkg-config reports the header's version.
# usage: check_abi.sh PREFIX VERSION MAJOR
set -euo pipefail
prefix=$1 version=$2 major=$3
lib=$prefix/lib/libelmo.so.$version
header=$prefix/include/elmo.h
fail() { echo "check_abi: FAIL: $*" >&2; exit 1; }

[ -f "$lib" ] || fail "$lib is missing"
[ -f "$header" ] || fail "$header is missing"
[ "$(readlink "$prefix/lib/libelmo.so.$major")" = "libelmo.so.$version" ] || fail "libelmo.so.$major does not link to libelmo.so.$version"
[ "$(readlink "$prefix/lib/libelmo.so")" = "libelmo.so.$major" ] || fail "libelmo.so does not link to libelmo.so.$major"

declared=$(grep -E '^[A-Za-z_][A-Za-z_ ]*[ *]elmo_[a-z0-9_]+\(' "$header" | grep -v '^static' \
    | sed -E 's/^.*[ *](elmo_[a-z0-9_]+)\(.*$/\1/' | sort)
exported=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | sort)
[ -n "$declared" ] || fail "no function declarations found in $header"
if [ "$declared" != "$exported" ]; then
    diff <(echo "$declared") <(echo "$exported") | sed 's/^/  /' >&2 || true
    fail "exported symbols (>) differ from the header's functions (<)"
fi
nm -D --defined-only "$lib" | awk '$2 != "T" { bad = 1 } END { exit bad }' || fail "a defined dynamic symbol is not a function"

deps=$(ldd "$lib")
if grep -qiE 'swift|foundation|icu|dispatch|BlocksRuntime|not found' <<<"$deps"; then
    echo "$deps" >&2
    fail "libelmo.so needs a Swift runtime library (or a library is missing)"
fi

"$(dirname "$0")/check_needed.sh" "$lib" >/dev/null

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libelmo.so.$major" ] || fail "SONAME is '$soname', expected libelmo.so.$major"

pcversion=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion elmo)
[ "$pcversion" = "$version" ] || fail "pkg-config says version $pcversion, the header $version"

needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "check_abi: OK: $(echo "$exported" | wc -l) exported functions = the header's; SONAME $soname;"
echo "  needs only: $needed(ldd: nothing from the Swift toolchain)"
