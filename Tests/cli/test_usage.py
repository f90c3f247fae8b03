"""Help, usage errors (exit 2) and runtime failures (exit 1) whose messages name the file."""
import os
import sys

import pytest

from conftest import write_lines


@pytest.mark.parametrize("args", [[], ["embed"], ["info"], ["download"]])
def test_help_for_every_command(run, args):
    r = run(*args, "--help")
    assert r.returncode == 0, r.stderr
    assert "USAGE: elmo" in r.stdout
    assert r.stderr == ""


def test_help_names_the_subcommands(run):
    r = run("--help")
    for sub in ("embed", "info", "download"):
        assert sub in r.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        ([], "missing subcommand"),  # usage on stderr
        (["frobnicate"], "frobnicate"),
        (["embed"], "Missing expected argument"),
        (["embed", "in.txt", "out.hdf5"], "--model"),
        (["embed", "in.txt", "out.csv", "-m", "m"], "output format"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--all", "--top"], "--all"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--top", "--output-layer", "elmo"], "not several"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--output-layer", "lstm_outputs"], "unknown --output-layer"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--output-layer", "all"], "unknown --output-layer"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--batch-size", "0"], "--batch-size"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--batch-size", "x"], "batch-size"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--threads", "0"], "--threads"),
        (["embed", "in.txt", "out.npz", "-m", "m", "--use-sentence-keys"], "--use-sentence-keys"),
        (["embed", "in.txt", "-", "-m", "m", "--use-sentence-keys"], "--use-sentence-keys"),
        (["embed", "in.txt", "out.hdf5", "-m", "m", "--no-such-flag"], "--no-such-flag"),
        (["info"], "Missing expected argument"),
        (["info", "a", "b"], "Unexpected argument"),
        (["download"], "Missing expected argument"),
    ],
)
def test_usage_errors_exit_2(run, args, fragment):
    r = run(*args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert fragment in r.stderr, r.stderr


def test_download_of_an_unknown_name_exits_1_listing_the_names(run):
    """The name is checked by the resolver (python -m elmo.resolve), which says what it is not."""
    r = run("download", "huge")
    assert r.returncode == 1, r.stderr
    assert "huge: model not found" in r.stderr and "small, medium, original, original5.5B" in r.stderr
    assert len([l for l in r.stderr.splitlines() if l.startswith("elmo: error:")]) == 1


def test_missing_model_exits_1_naming_it(run, tmp_path):
    inp = write_lines(tmp_path / "in.txt", ["a b"])
    r = run("embed", inp, "out.hdf5", "-m", tmp_path / "no-model")
    assert r.returncode == 1, r.stderr
    assert str(tmp_path / "no-model") in r.stderr
    assert "model not found" in r.stderr
    assert not (tmp_path / "out.hdf5").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_model_that_is_not_hdf5_exits_1_naming_the_file(run, tmp_path, fixture_dir):
    d = tmp_path / "bad-model"
    d.mkdir()
    (d / "options.json").write_bytes((fixture_dir / "options.json").read_bytes())
    (d / "weights.hdf5").write_text("not an HDF5 file")
    inp = write_lines(tmp_path / "in.txt", ["a b"])
    r = run("embed", inp, "out.hdf5", "-m", d)
    assert r.returncode == 1
    assert str(d / "weights.hdf5") in r.stderr and "not an HDF5 file" in r.stderr
    assert not (tmp_path / "out.hdf5").exists()


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_input_exits_1_naming_it(run, tmp_path, fixture_dir, kind):
    inp = tmp_path / "input.txt"
    if kind == "directory":
        inp.mkdir()
    r = run("embed", inp, "out.hdf5", "-m", fixture_dir)
    assert r.returncode == 1
    assert f"{inp}: cannot read the input" in r.stderr
    assert not (tmp_path / "out.hdf5").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_input_without_permission_exits_1(run, tmp_path, fixture_dir):
    inp = write_lines(tmp_path / "in.txt", ["a"])
    inp.chmod(0)
    r = run("embed", inp, "out.hdf5", "-m", fixture_dir)
    assert r.returncode == 1 and "Permission denied" in r.stderr


@pytest.mark.parametrize("fmt", ["hdf5", "npz", "jsonl"])
def test_unwritable_output_exits_1_naming_it(run, tmp_path, fixture_dir, fmt):
    inp = write_lines(tmp_path / "in.txt", ["a b"])
    out = tmp_path / "no-such-dir" / f"out.{fmt}"
    r = run("embed", inp, out, "-m", fixture_dir)
    assert r.returncode == 1
    assert f"{out}: cannot create the output file" in r.stderr
    # An existing directory under the output's name is refused too.
    d = tmp_path / f"dir.{fmt}"
    d.mkdir()
    r = run("embed", inp, d, "-m", fixture_dir)
    assert r.returncode == 1 and f"{d}: cannot write the output: it is a directory" in r.stderr


def test_info_of_missing_model_exits_1(run, tmp_path):
    r = run("info", tmp_path / "nothing")
    assert r.returncode == 1 and str(tmp_path / "nothing") in r.stderr


def test_model_name_not_downloaded_and_offline(run, tmp_path):
    inp = write_lines(tmp_path / "in.txt", ["a b"])
    r = run("info", "original")
    assert r.returncode == 1 and "not downloaded yet" in r.stderr and "elmo download original" in r.stderr
    r = run("embed", inp, "out.hdf5", "-m", "original")
    assert r.returncode == 1
    assert "seems to be offline" in r.stderr and "local path" in r.stderr
    assert not (tmp_path / "out.hdf5").exists()


def test_model_name_with_a_python_lacking_the_package_says_what_to_install(run, tmp_path):
    """A binary used outside the wheel, whose Python cannot import elmo: the error says to install
    libelmo (or set $ELMO_PYTHON), not Python's bare ModuleNotFoundError."""
    bare = tmp_path / "bare-python"
    # -S: no site-packages, so no installed elmo package (the cwd, tmp_path, has none either).
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(0o755)
    r = run("info", "original", env={"ELMO_PYTHON": str(bare)})
    assert r.returncode == 1
    assert "needs the libelmo Python package" in r.stderr and "pip install libelmo" in r.stderr
    assert "ELMO_PYTHON" in r.stderr and "Traceback" not in r.stderr
