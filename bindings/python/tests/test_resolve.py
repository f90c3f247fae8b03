"""`python -m elmo.resolve`: the contract the elmo command calls (JSON on stdout, exit codes,
--dir, --no-download, --explain), against a local HTTP server."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

import elmo
import elmo.resolve
from http_server import FileServer, spec_files

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(elmo.__file__)))
SMALL = "2x1024_128_2048cnn_1xhighway/elmo_2x1024_128_2048cnn_1xhighway"


@pytest.fixture
def server(fixture_dir):
    with FileServer(spec_files(fixture_dir)) as s:
        yield s


def run(args, env):
    """python -m elmo.resolve ARGS with `env` added, the package importable as in the tests."""
    # AllenNLP's cache beside libelmo's (empty): the machine's own never decides a test.
    full = dict(os.environ, ALLENNLP_CACHE_ROOT=os.path.join(os.path.dirname(str(env.get("ELMO_CACHE_DIR", "/x/y"))),
                                                             "allennlp"))
    full.update({k: str(v) for k, v in env.items()})
    full["PYTHONPATH"] = PACKAGE_PARENT + os.pathsep + full.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "elmo.resolve", *map(str, args)], capture_output=True,
                          text=True, env=full, timeout=120)


def test_local_path_is_used_as_it_is(fixture_dir, tmp_path):
    r = run(["--json", fixture_dir], {"ELMO_CACHE_DIR": tmp_path})
    assert r.returncode == 0 and r.stderr == ""  # nothing but the answer (no runpy warning either)
    assert json.loads(r.stdout) == {"path": fixture_dir, "options": None, "source": "path",
                                    "why": f"{fixture_dir} is a local path: used as it is, never the network"}


def test_name_is_downloaded_once_then_found_in_the_cache(server, tmp_path, fixture_dir):
    env = {"ELMO_CACHE_DIR": tmp_path / "cache", "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    r = run(["--json", "small"], env)
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    assert first["path"] == str(tmp_path / "cache" / "small") and first["source"] == "download"
    assert first["options"] is None and "not in libelmo's cache" in first["why"]
    weights = (tmp_path / "cache" / "small" / "weights.hdf5").read_bytes()
    assert weights == open(os.path.join(fixture_dir, "lm_weights.hdf5"), "rb").read()
    assert (tmp_path / "cache" / "small" / "weights.hdf5.sha256").read_text().strip() == \
        hashlib.sha256(weights).hexdigest()
    count = len(server.requests)
    r = run(["--json", "--no-download", "small"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] == "cache" and len(server.requests) == count
    # Without --json: the path alone.
    r = run(["small"], env)
    assert r.stdout == str(tmp_path / "cache" / "small") + "\n"


def test_no_download_is_an_error_naming_where_it_looked(tmp_path):
    r = run(["--no-download", "--json", "original"], {"ELMO_CACHE_DIR": tmp_path / "cache"})
    assert r.returncode == 1 and r.stdout == ""
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("elmo: error: original: not downloaded yet")
    assert str(tmp_path / "cache" / "original") in last and "run: elmo download original" in last


def test_dir_downloads_into_the_directory(server, tmp_path):
    env = {"ELMO_CACHE_DIR": tmp_path / "cache", "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    target = tmp_path / "models" / "mine"
    r = run(["--json", "--dir", target, "small"], env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["path"] == str(target) and data["source"] == "download"
    assert sorted(p.name for p in target.iterdir()) == [
        "options.json", "options.json.sha256", "weights.hdf5", "weights.hdf5.sha256"]
    assert not (tmp_path / "cache").exists()
    count = len(server.requests)
    r = run(["--json", "--dir", target, "small"], env)
    assert json.loads(r.stdout)["source"] == "cache" and len(server.requests) == count
    with elmo.Model(str(target)) as m:
        assert m.output_dim == 32


def test_interrupted_download_says_how_to_resume(server, tmp_path):
    env = {"ELMO_CACHE_DIR": tmp_path / "cache", "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    server.mode, server.cut_at = "cut", 1000
    r = run(["--json", "small"], env)
    assert r.returncode == 1 and r.stdout == ""
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("elmo: error: download of ") and "interrupted" in last
    assert "run the command again to resume" in last
    server.mode = "normal"
    r = run(["--json", "small"], env)
    assert r.returncode == 0, r.stderr
    assert server.gets("_weights.hdf5")[-1]["range"] == "bytes=1000-"


def test_size_mismatch_removes_the_partial_file(server, tmp_path, fixture_dir):
    """A 206 whose Content-Range total is larger than what the server sends: nothing kept."""
    env = {"ELMO_CACHE_DIR": tmp_path / "cache", "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    directory = tmp_path / "cache" / "small"
    directory.mkdir(parents=True)
    options = open(os.path.join(fixture_dir, "options.json"), "rb").read()
    (directory / "options.json.part").write_bytes(options[:10])
    server.mode = "wrong_total"
    r = run(["small"], env)
    assert r.returncode == 1
    assert "size mismatch" in r.stderr and "nothing was installed" in r.stderr
    assert not (directory / "options.json.part").exists() and not (directory / "options.json").exists()


def test_explain_downloads_nothing(server, tmp_path):
    env = {"ELMO_CACHE_DIR": tmp_path / "cache", "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    r = run(["--explain", "small"], env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"download: {tmp_path / 'cache' / 'small'}"
    assert lines[1].startswith("why: not in libelmo's cache") and "would be downloaded from " + server.base_url in lines[1]
    assert lines[2:5] == ["looked at, in order:", "  local path small", f"  libelmo's cache {tmp_path / 'cache' / 'small'}"]
    assert lines[5].startswith(f"  AllenNLP's cache {tmp_path / 'allennlp' / 'cache'}")
    r = run(["--explain", "--json", "small"], env)
    data = json.loads(r.stdout)
    assert data["source"] == "download" and data["looked"][1] == f"libelmo's cache {tmp_path / 'cache' / 'small'}"
    assert server.requests == [] and not (tmp_path / "cache").exists()


def test_usage_errors_exit_2(tmp_path):
    assert run([], {}).returncode == 2
    assert run(["--download", "--no-download", "small"], {}).returncode == 2


def test_unknown_name_and_url_are_errors(tmp_path):
    r = run(["--json", "no-such-model"], {"ELMO_CACHE_DIR": tmp_path})
    assert r.returncode == 1 and "model not found" in r.stderr and "small, medium, original" in r.stderr
    r = run(["--json", "s3://bucket/x.hdf5"], {"ELMO_CACHE_DIR": tmp_path})
    assert r.returncode == 1 and "not a model libelmo knows how to fetch" in r.stderr


def test_python_api_matches_the_command_line(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ELMO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", server.base_url)
    explained = elmo.resolve.explain("small")
    assert (explained.source, server.requests) == ("download", [])
    resolved = elmo.resolve.resolve("small", progress=False)
    assert (resolved.path, resolved.source) == (explained.path, "download")
    assert elmo.resolve.resolve("small").source == "cache"
    with pytest.raises(elmo.DownloadError, match="not downloaded yet"):
        elmo.resolve.resolve("medium", download=False)


def test_path_like_arguments(fixture_dir, tmp_path):
    import pathlib
    resolved = elmo.resolve.resolve(pathlib.Path(fixture_dir), options=pathlib.Path(fixture_dir) / "options.json")
    assert (resolved.path, resolved.source) == (fixture_dir, "path")
    assert resolved.options == os.path.join(fixture_dir, "options.json")
    with pytest.raises(elmo.InvalidArgumentError, match="a model must be a non-empty path, name or URL"):
        elmo.resolve.resolve(42)


def test_a_download_in_progress_elsewhere_is_waited_for(server, tmp_path, fixture_dir):
    """Another process holds the .part lock of the weights: this one says it waits, then finds
    the file in place (verified) and fetches nothing: source "cache"."""
    import fcntl
    env = {"ELMO_CACHE_DIR": tmp_path / "cache", "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    directory = tmp_path / "cache" / "small"
    directory.mkdir(parents=True)
    data = {name: open(os.path.join(fixture_dir, source), "rb").read()
            for name, source in (("options.json", "options.json"), ("weights.hdf5", "lm_weights.hdf5"))}
    (directory / "options.json").write_bytes(data["options.json"])
    (directory / "options.json.sha256").write_text(hashlib.sha256(data["options.json"]).hexdigest() + "\n")
    with open(directory / "weights.hdf5.part", "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        full = dict(os.environ, ALLENNLP_CACHE_ROOT=str(tmp_path / "allennlp"), **{k: str(v) for k, v in env.items()})
        full["PYTHONPATH"] = PACKAGE_PARENT + os.pathsep + full.get("PYTHONPATH", "")
        waiting = subprocess.Popen([sys.executable, "-m", "elmo.resolve", "--json", "small"], env=full,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = waiting.stderr.readline()
        assert line == f"elmo: waiting for another download of {directory / 'weights.hdf5'}\n"
        # The other download finishes: sidecar, then the file under its name.
        (directory / "weights.hdf5.sha256").write_text(hashlib.sha256(data["weights.hdf5"]).hexdigest() + "\n")
        (directory / "weights.hdf5").write_bytes(data["weights.hdf5"])
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    result = json.loads(out)
    assert result["source"] == "cache" and "by another download while this one waited" in result["why"]
    assert server.requests == []
