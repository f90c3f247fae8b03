"""How the package finds libelmo.so: $ELMO_LIBRARY, the bundled copy, the system loader;
one clear error listing where it looked. Each case runs in a fresh interpreter."""

import ctypes.util
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

import elmo

PACKAGE = os.path.dirname(os.path.abspath(elmo.__file__))


def run(code, env_changes, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k not in ("ELMO_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env.update(env_changes)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd="/")


def library_file():
    """A real libelmo.so to point at: the one this test process loaded."""
    path = elmo.library_path()
    if os.sep not in path:
        pytest.skip(f"libelmo was loaded by name ({path}), not from a file")
    return os.path.realpath(path)


@pytest.fixture
def bare_package(tmp_path):
    """A copy of the package's Python files without a bundled library."""
    target = tmp_path / "site" / "elmo"
    target.mkdir(parents=True)
    for name in os.listdir(PACKAGE):
        if name.endswith(".py"):
            shutil.copy(os.path.join(PACKAGE, name), target / name)
    return str(tmp_path / "site"), str(target)


def test_installed_package_uses_its_bundled_copy_of_the_built_library():
    """Under `make test-python` the package was installed from this repository after `make lib`:
    it must carry that very library and load it without any environment help."""
    bundled = os.path.join(PACKAGE, "libelmo.so")
    built = os.environ.get("ELMO_TEST_BUILT_LIBRARY")  # set by `make test-python`
    if not os.path.isfile(bundled):
        assert not built, f"{PACKAGE} has no libelmo.so: the package under test is not the one installed " \
                          "from this repository after `make lib`"
        pytest.skip("this installation has no bundled libelmo.so (installed without `make lib`)")
    result = run("import elmo; print(elmo.library_path())", {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == bundled
    if built:
        with open(bundled, "rb") as a, open(built, "rb") as b:
            assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest(), \
                "the bundled libelmo.so is not the freshly built one"


def test_environment_variable_comes_first(bare_package):
    site, _ = bare_package
    library = library_file()
    result = run("import elmo; print(elmo.library_path(), elmo.library_version())", {"ELMO_LIBRARY": library}, site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [library, elmo.library_version()]


def test_environment_variable_naming_a_missing_file_is_an_error(bare_package):
    site, _ = bare_package
    result = run("import elmo\ntry:\n    elmo.Model('x')\nexcept elmo.LibraryNotFoundError as e:\n    print(e)",
                 {"ELMO_LIBRARY": "/nonexistent/libelmo.so"}, site)
    assert result.returncode == 0, result.stderr
    assert "cannot load libelmo from $ELMO_LIBRARY=/nonexistent/libelmo.so" in result.stdout


def test_environment_variable_naming_another_library_is_an_error(bare_package):
    site, _ = bare_package
    other = ctypes.util.find_library("m")
    if other is None:
        pytest.skip("no libm to use as a foreign library")
    result = run("import elmo\ntry:\n    elmo.Model('x')\nexcept elmo.LibraryNotFoundError as e:\n    print(e)",
                 {"ELMO_LIBRARY": other}, site)
    assert result.returncode == 0, result.stderr
    assert "not a compatible libelmo" in result.stdout


def test_system_loader_is_the_last_resort(bare_package, tmp_path):
    site, _ = bare_package
    libdir = tmp_path / "lib"
    libdir.mkdir()
    os.symlink(library_file(), libdir / "libelmo.so.0")
    result = run("import elmo; print(elmo.library_path())", {"LD_LIBRARY_PATH": str(libdir)}, site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "libelmo.so.0"


def test_missing_library_is_one_clear_error_listing_where_it_looked(bare_package):
    site, package = bare_package
    if ctypes.util.find_library("elmo"):
        pytest.skip("a system-wide libelmo is installed, so the library cannot be missing here")
    code = ("import elmo\n"
            "try:\n    elmo.Model('x')\n"
            "except elmo.LibraryNotFoundError as e:\n    print(e)\n")
    result = run(code, {}, site)
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert message.startswith("libelmo.so not found. Looked in: $ELMO_LIBRARY (not set); ")
    assert os.path.join(package, "libelmo.so") + " (no such file)" in message
    assert "libelmo.so.0 (" in message
    assert "make lib" in message


def test_importing_needs_no_library(bare_package):
    site, _ = bare_package
    result = run("import elmo; print(elmo.Elmo2Vec.__name__)", {"ELMO_LIBRARY": "/nonexistent"}, site)
    assert result.returncode == 0, result.stderr


def test_package_depends_on_numpy_only():
    from importlib import metadata
    try:
        requirements = metadata.requires("libelmo") or []
    except metadata.PackageNotFoundError:
        pytest.skip("the package is not installed (running from the source tree)")
    runtime = [r for r in requirements if "extra ==" not in r]
    assert [r.split(">")[0].split("=")[0].split("<")[0].strip() for r in runtime] == ["numpy"]
