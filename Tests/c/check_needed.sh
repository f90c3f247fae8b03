#!/usr/bin/env bash
# Every ELF file given (libelmo.so as installed or as in the wheel, the wheel's elmo command)
# needs only the C runtime at run time: its DT_NEEDED entries are among libc, libm, libpthread,
# libdl, librt, libstdc++, libgcc_s, the dynamic loader and zlib (as the system's libz.so.1, or
# the copy auditwheel grafts into the wheel as libz-<hash>.so.*), and `ldd` (run without
# LD_LIBRARY_PATH) finds them all. Prints what each file needs.
# usage: check_needed.sh FILE...
set -euo pipefail
fail() { echo "check_needed: FAIL: $*" >&2; exit 1; }
[ $# -gt 0 ] || fail "usage: check_needed.sh FILE..."
allowed='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libz\.so\.1|libz-[0-9a-f]{8}\.so\.[0-9.]+)$'
for file in "$@"; do
    [ -f "$file" ] || fail "$file is missing"
    needed=$(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    [ -n "$needed" ] || fail "$file: no NEEDED entries (not a dynamic ELF file?)"
    extra=$(grep -vE "$allowed" <<<"$needed" || true)
    [ -z "$extra" ] || fail "$file needs more than the C runtime and zlib: $(echo $extra)"
    deps=$(env -u LD_LIBRARY_PATH ldd "$file")
    if grep -q 'not found' <<<"$deps"; then
        echo "$deps" >&2
        fail "$file: a library it needs is not found"
    fi
    echo "check_needed: OK: $file needs only: $(echo $needed)"
done
