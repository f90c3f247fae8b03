"""The `elmo` console command of the wheel: runs the Swift `elmo` binary bundled in
`elmo/_bin/elmo-cli` (same subcommands, options and output as a source install's `elmo`).

The binary has no download code of its own: for a model name it runs this package's resolver
(`python -m elmo.resolve`) with $ELMO_PYTHON, which is set here to this very interpreter, so
names resolve (and download) with the package that came with the command."""

import os
import sys


def binary_path() -> str:
    """Where the bundled binary is (present in wheels built with `make wheel`)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "elmo-cli")


def main() -> int:
    binary = binary_path()
    if not os.access(binary, os.X_OK):
        print(f"elmo: error: this libelmo installation has no elmo command ({binary} is missing): install a libelmo "
              "wheel (pip install libelmo), or build the command from source (make install-cli)", file=sys.stderr)
        return 1
    os.environ.setdefault("ELMO_PYTHON", sys.executable)
    # exec, not a child process: signals, exit status and memory are the binary's own.
    os.execv(binary, ["elmo", *sys.argv[1:]])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
