#!/usr/bin/env bash
# The public Swift API of `import Elmo`, read from the compiler's symbol graph.
#
#   Tests/api/public_symbols.sh                 the public (and @_spi) symbols, one per line, sorted
#   Tests/api/public_symbols.sh --check-docs    fails, naming them, if a public symbol declared in
#                                               Elmo has no `///` comment of its own (make docs-check)
#   Tests/api/public_symbols.sh --graph-dir D   also leaves the symbol graph in D (docc reads it)
#
# Runs `swift build --target Elmo` (a no-op after `swift build --build-tests`) and
# swift-symbolgraph-extract on the module it built: seconds, no rebuild with other flags.
# A line is `path<TAB>declaration`; members the compiler synthesises for a conformance
# (`!=`, `hash(into:)`, `init(rawValue:)`) are listed but need no comment; @_spi symbols are
# marked `[SPI name]`.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}

mode=list graph_dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --check-docs) mode=check ;;
        --graph-dir) graph_dir=$2; shift ;;
        *) echo "usage: $0 [--check-docs] [--graph-dir DIR]" >&2; exit 2 ;;
    esac
    shift
done

$SWIFT build --target Elmo >&2
bin=$($SWIFT build --show-bin-path)
triple=$($SWIFT -print-target-info | python3 -c 'import json, sys; print(json.load(sys.stdin)["target"]["triple"])')

# The C modules Elmo imports: the module maps SwiftPM generated for C targets, and the
# system-library targets' own.
flags=()
for m in "$bin"/*.build/module.modulemap; do flags+=(-Xcc "-fmodule-map-file=$m"); done
for m in Sources/*/module.modulemap; do flags+=(-I "$(dirname "$m")"); done

out=${graph_dir:-$(mktemp -d)}
[ -n "$graph_dir" ] || trap 'rm -rf "$out"' EXIT
mkdir -p "$out"
swift-symbolgraph-extract -module-name Elmo -target "$triple" -I "$bin/Modules" "${flags[@]}" \
    -minimum-access-level public -include-spi-symbols -output-dir "$out" >&2

python3 - "$mode" "$out"/Elmo*.symbols.json <<'PY'
import json, os, sys
mode, files = sys.argv[1], sys.argv[2:]
lines, undocumented = [], []
for f in files:
    for s in json.load(open(f))["symbols"]:
        if s["accessLevel"] not in ("public", "open"):
            continue
        path = ".".join(s["pathComponents"])
        decl = " ".join("".join(x["spelling"] for x in s.get("declarationFragments", [])).split())
        spi = " [SPI]" if s.get("spi") else ""
        lines.append(f"{path}\t{decl}{spi}")
        # Declared here (a source location) and without a comment written in this module:
        # a comment inherited from a protocol of another module does not count.
        doc = s.get("docComment")
        if "location" in s and (doc is None or doc.get("module", "Elmo") != "Elmo"
                                or not any(l["text"].strip() for l in doc["lines"])):
            loc = s["location"]["uri"].removeprefix("file://").removeprefix(os.getcwd() + "/")
            line = s["location"]["position"]["line"] + 1
            undocumented.append(f"{loc}:{line}: {path}\t{decl}")
if mode == "list":
    print("\n".join(sorted(lines)))
else:
    if undocumented:
        print(f"{len(undocumented)} public symbols of Elmo without a /// comment:", file=sys.stderr)
        print("\n".join(sorted(undocumented)), file=sys.stderr)
        sys.exit(1)
    print(f"all {len(lines)} public symbols of Elmo are documented (or synthesized)", file=sys.stderr)
PY
