"""The package version: ELMO_VERSION_STRING of include/elmo.h, the one place it is written.
Installed packages carry this file rewritten by setup.py with the value; in a libelmo checkout
the header is read here."""

import os
import re


def _from_header() -> str:
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include", "elmo.h")
    with open(header) as f:
        match = re.search(r'^#define ELMO_VERSION_STRING "([^"]+)"', f.read(), re.MULTILINE)
    if match is None:
        raise ImportError(f"{header}: no ELMO_VERSION_STRING")
    return match.group(1)


__version__ = _from_header()
