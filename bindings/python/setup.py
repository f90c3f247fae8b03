"""Build hook: bundle libelmo.so and the elmo command into the package.

What goes into the wheel, in order of preference:
- the files named by $ELMO_BUILD_LIBRARY and $ELMO_BUILD_CLI;
- run from a libelmo checkout (`pip install ./bindings/python`, `make wheel`): the release
  builds `make lib` and `make cli` made (`.build/release/libelmo.so`, `.build/release/elmo-cli`);
- run from the sdist (`make sdist`), which carries the Swift sources in `libelmo-src/`: both are
  built here with the Swift toolchain (`swift build -c release`); without one the build stops
  and says what to install.
libelmo.so becomes `elmo/libelmo.so`, the command `elmo/_bin/elmo-cli` (run by the `elmo`
console script, `elmo/_cli.py`), and the wheel is tagged py3-none-<platform> (ctypes: no CPython
ABI). In a checkout with nothing built the package is pure Python and finds libelmo at run time
through $ELMO_LIBRARY or the system loader.

The version is ELMO_VERSION_STRING of include/elmo.h, the one place it is written.
"""

import os
import re
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.normpath(os.path.join(HERE, "..", ".."))
# The Swift sources shipped in the sdist (make sdist copies them here).
SDIST_SOURCES = os.path.join(HERE, "libelmo-src")

SWIFT_MISSING = """\
building libelmo from source needs the Swift toolchain (6.0 or newer) and zlib's headers:
  - Swift: https://www.swift.org/install/linux/ (put its usr/bin on PATH, or set $SWIFT to the swift binary)
  - zlib:  apt-get install zlib1g-dev pkg-config   (dnf install zlib-devel pkgconf)
or install a prebuilt wheel instead: pip install libelmo (Linux x86_64)."""


def source_tree():
    """The Swift package to build from, or None."""
    for candidate in (SDIST_SOURCES, REPOSITORY):
        if os.path.isfile(os.path.join(candidate, "Package.swift")):
            return candidate
    return None


def read_version():
    tree = source_tree()
    header = os.path.join(tree, "include", "elmo.h") if tree else None
    if header is None or not os.path.isfile(header):
        raise SystemExit("include/elmo.h not found: build the package from a libelmo checkout or its sdist")
    with open(header) as f:
        match = re.search(r'^#define ELMO_VERSION_STRING "([^"]+)"', f.read(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{header}: no ELMO_VERSION_STRING")
    return match.group(1)


def _explicit(variable):
    path = os.environ.get(variable)
    if path and not os.path.isfile(path):
        raise SystemExit(f"{variable}={path}: no such file")
    return path or None


def _build_from_sources(tree):
    """Builds libelmo.so and the elmo command in the sdist's source tree; returns their paths."""
    swift = os.environ.get("SWIFT") or shutil.which("swift")
    if not swift:
        raise SystemExit(SWIFT_MISSING)
    try:
        # The same flags for both (as the Makefile's lib and cli): the second build reuses the first's.
        for product in ("elmo", "elmo-cli"):
            subprocess.run([swift, "build", "-c", "release", "--static-swift-stdlib", "--product", product],
                           cwd=tree, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"building libelmo with {swift} failed ({error}).\n{SWIFT_MISSING}")
    release = os.path.join(tree, ".build", "release")
    return os.path.join(release, "libelmo.so"), os.path.join(release, "elmo-cli")


_artifacts = None


def built_artifacts():
    """(libelmo.so, elmo-cli) to bundle; either may be None (see the module docstring)."""
    global _artifacts
    if _artifacts is None:
        library, cli = _explicit("ELMO_BUILD_LIBRARY"), _explicit("ELMO_BUILD_CLI")
        if library is None and cli is None and os.path.isdir(SDIST_SOURCES):
            library, cli = _build_from_sources(SDIST_SOURCES)
        release = os.path.join(REPOSITORY, ".build", "release")
        if library is None and os.path.isfile(os.path.join(release, "libelmo.so")):
            library = os.path.join(release, "libelmo.so")
        if cli is None and os.path.isfile(os.path.join(release, "elmo-cli")):
            cli = os.path.join(release, "elmo-cli")
        _artifacts = (library, cli)
    return _artifacts


class build_py_with_library(build_py):
    def run(self):
        super().run()
        library, cli = built_artifacts()
        self._bundle(library, os.path.join(self.build_lib, "elmo", "libelmo.so"),
                     "libelmo.so not found (run `make lib` first to bundle it); the package will look for it at run time")
        self._bundle(cli, os.path.join(self.build_lib, "elmo", "_bin", "elmo-cli"),
                     "elmo-cli not found (run `make cli` first to bundle it); the elmo command will not be available")
        # The version, fixed at build time (a checkout reads include/elmo.h instead).
        with open(os.path.join(self.build_lib, "elmo", "_version.py"), "w") as f:
            f.write(f'"""Written by setup.py from include/elmo.h."""\n__version__ = "{read_version()}"\n')

    def _bundle(self, source, target, missing):
        if source is None:
            # Never ship a copy left in build/ by an earlier build.
            if os.path.exists(target):
                os.remove(target)
            self.announce(missing, level=2)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
        os.chmod(target, 0o755)
        self.announce(f"bundled {source} as {target}", level=2)


class LibraryDistribution(Distribution):
    """A distribution carrying native code is platform specific (installed to platlib). Asked
    before anything is built (and by `make sdist` itself), so this never builds: the sdist's
    sources are built by build_py."""

    def has_ext_modules(self):
        if os.path.isdir(SDIST_SOURCES) or os.environ.get("ELMO_BUILD_LIBRARY") or os.environ.get("ELMO_BUILD_CLI"):
            return True
        release = os.path.join(REPOSITORY, ".build", "release")
        return any(os.path.isfile(os.path.join(release, name)) for name in ("libelmo.so", "elmo-cli"))


class platform_wheel(bdist_wheel):
    """A wheel holding libelmo.so is for this platform but any Python 3 (it uses ctypes, no C API)."""

    def get_tag(self):
        python, abi, platform = super().get_tag()
        if not self.root_is_pure:
            return "py3", "none", platform
        return python, abi, platform


setup(version=read_version(), distclass=LibraryDistribution,
      cmdclass={"build_py": build_py_with_library, "bdist_wheel": platform_wheel})
