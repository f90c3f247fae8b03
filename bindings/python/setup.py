"""Build hook: bundle the repository's libelmo.so into the package.

`pip install ./bindings/python` (or `pip wheel ./bindings/python`) run from a libelmo checkout
copies the release library that `make lib` built (`.build/release/libelmo.so`, or the file
named by $ELMO_BUILD_LIBRARY) into the package as `elmo/libelmo.so`, and the wheel is then
tagged for this platform. Without a built library the package is pure Python and finds
libelmo at run time through $ELMO_LIBRARY or the system loader.
"""

import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.normpath(os.path.join(HERE, "..", ".."))


def built_library():
    """The libelmo.so to bundle, or None."""
    explicit = os.environ.get("ELMO_BUILD_LIBRARY")
    if explicit:
        if not os.path.isfile(explicit):
            raise SystemExit(f"ELMO_BUILD_LIBRARY={explicit}: no such file")
        return explicit
    candidate = os.path.join(REPOSITORY, ".build", "release", "libelmo.so")
    return candidate if os.path.isfile(candidate) else None


class build_py_with_library(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "elmo", "libelmo.so")
        library = built_library()
        if library is None:
            # Never ship a copy left in build/ by an earlier build.
            if os.path.exists(target):
                os.remove(target)
            self.announce("libelmo.so not found (run `make lib` first to bundle it); the package will "
                          "look for it at run time", level=2)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(library, target)
        os.chmod(target, 0o755)
        self.announce(f"bundled {library} as {target}", level=2)


class LibraryDistribution(Distribution):
    """A distribution carrying libelmo.so is platform specific (installed to platlib)."""

    def has_ext_modules(self):
        return built_library() is not None


class platform_wheel(bdist_wheel):
    """A wheel holding libelmo.so is for this platform but any Python 3 (it uses ctypes, no C API)."""

    def get_tag(self):
        python, abi, platform = super().get_tag()
        if not self.root_is_pure:
            return "py3", "none", platform
        return python, abi, platform


setup(distclass=LibraryDistribution, cmdclass={"build_py": build_py_with_library, "bdist_wheel": platform_wheel})
