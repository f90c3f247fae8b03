"""`elmo download` and `--model NAME` against a local HTTP server (no network needed)."""
import hashlib
import json
import socket

import numpy as np
import pytest

from conftest import write_lines
from range_server import RangeServer

# The spec's relative paths for the model name "small"; the server hands out the fixture's files.
DIR = "2x1024_128_2048cnn_1xhighway"
STEM = "elmo_2x1024_128_2048cnn_1xhighway"


@pytest.fixture
def server(fixture_dir):
    s = RangeServer({
        f"/{DIR}/{STEM}_options.json": (fixture_dir / "options.json").read_bytes(),
        f"/{DIR}/{STEM}_weights.hdf5": (fixture_dir / "lm_weights.hdf5").read_bytes(),
    })
    yield s
    s.close()


@pytest.fixture
def weights(fixture_dir):
    return (fixture_dir / "lm_weights.hdf5").read_bytes()


def weights_requests(server):
    return [(rng, status) for path, rng, status in server.log if path.endswith("_weights.hdf5")]


def cached(tmp_path, name="weights.hdf5"):
    return tmp_path / "cache" / "small" / name


def test_fresh_download_into_the_cache(run, tmp_path, server, weights, fixture_dir):
    r = run("download", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 0, r.stderr
    w = cached(tmp_path)
    assert w.read_bytes() == weights
    assert cached(tmp_path, "options.json").read_bytes() == (fixture_dir / "options.json").read_bytes()
    assert (w.parent / "weights.hdf5.sha256").read_text().strip() == hashlib.sha256(weights).hexdigest()
    assert (w.parent / "options.json.sha256").read_text().strip() == hashlib.sha256(
        (fixture_dir / "options.json").read_bytes()).hexdigest()
    assert sorted(p.name for p in w.parent.iterdir()) == [
        "options.json", "options.json.sha256", "weights.hdf5", "weights.hdf5.sha256"]
    # Present and verified: nothing is fetched again.
    server.log.clear()
    r = run("download", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 0 and server.log == [] and "was already" in r.stderr


def test_cache_location_rules(run, tmp_path, server):
    env = {"ELMO_DOWNLOAD_BASE_URL": server.base_url, "ELMO_CACHE_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert run("download", "small", "-q", env=env).returncode == 0
    assert (tmp_path / "xdg" / "elmo" / "small" / "weights.hdf5").exists()
    env = {"ELMO_DOWNLOAD_BASE_URL": server.base_url, "ELMO_CACHE_DIR": "", "XDG_CACHE_HOME": "", "HOME": str(tmp_path / "home")}
    assert run("download", "small", "-q", env=env).returncode == 0
    assert (tmp_path / "home" / ".cache" / "elmo" / "small" / "weights.hdf5").exists()


def test_download_into_a_directory_then_use_it(run, tmp_path, server):
    d = tmp_path / "models" / "mine"
    r = run("download", "small", "--dir", d, env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 0, r.stderr
    assert (d / "weights.hdf5").exists() and (d / "options.json").exists()
    assert run("info", d).returncode == 0


def test_model_name_is_fetched_once_then_used_offline(run, tmp_path, server, fixture_dir):
    inp = write_lines(tmp_path / "in.txt", ["The cat sat ."])
    r = run("embed", inp, tmp_path / "a.npz", "-m", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 0, r.stderr
    assert len(weights_requests(server)) == 1
    # Offline now (nothing listens at the default test URL): the cached copy is used.
    r = run("embed", inp, tmp_path / "b.npz", "-m", "small")
    assert r.returncode == 0, r.stderr
    r = run("embed", inp, tmp_path / "c.npz", "-m", fixture_dir)
    a, b, c = (np.load(tmp_path / n)["0"] for n in ("a.npz", "b.npz", "c.npz"))
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, c)
    assert run("info", "small").returncode == 0


def test_corrupt_cached_file_is_fetched_again(run, tmp_path, server, weights):
    env = {"ELMO_DOWNLOAD_BASE_URL": server.base_url}
    assert run("download", "small", "-q", env=env).returncode == 0
    w = cached(tmp_path)
    data = bytearray(w.read_bytes())
    data[1000] ^= 0xFF
    w.write_bytes(bytes(data))
    server.log.clear()
    inp = write_lines(tmp_path / "in.txt", ["a b"])
    r = run("embed", inp, tmp_path / "o.hdf5", "-m", "small", env=env)
    assert r.returncode == 0, r.stderr
    assert "corrupt" in r.stderr and str(w) in r.stderr
    assert weights_requests(server) == [(None, 200)]
    assert w.read_bytes() == weights


def test_resume_after_an_interrupted_transfer(run, tmp_path, server, weights):
    env = {"ELMO_DOWNLOAD_BASE_URL": server.base_url}
    half = len(weights) // 2
    server.faults.truncate_next_full = half
    r = run("download", "small", env=env)
    assert r.returncode == 1
    assert "interrupted" in r.stderr and "run the command again to resume" in r.stderr
    part = tmp_path / "cache" / "small" / "weights.hdf5.part"
    assert part.exists() and 0 < part.stat().st_size <= half
    assert not cached(tmp_path).exists()  # never a half file under the final name
    kept = part.stat().st_size
    r = run("download", "small", env=env)
    assert r.returncode == 0, r.stderr
    assert weights_requests(server)[-1] == (f"bytes={kept}-", 206)
    assert cached(tmp_path).read_bytes() == weights
    assert (cached(tmp_path).parent / "weights.hdf5.sha256").read_text().strip() == hashlib.sha256(weights).hexdigest()
    assert not part.exists()


def test_server_without_range_support_restarts_from_zero(run, tmp_path, server, weights):
    env = {"ELMO_DOWNLOAD_BASE_URL": server.base_url}
    server.faults.truncate_next_full = 1000
    assert run("download", "small", env=env).returncode == 1
    server.faults.ignore_range = True
    r = run("download", "small", env=env)
    assert r.returncode == 0, r.stderr
    assert weights_requests(server)[-1] == ("bytes=1000-", 200)
    assert cached(tmp_path).read_bytes() == weights


def test_partial_file_longer_than_the_file_restarts(run, tmp_path, server, weights):
    d = tmp_path / "cache" / "small"
    d.mkdir(parents=True)
    (d / "weights.hdf5.part").write_bytes(b"x" * (len(weights) + 10))
    r = run("download", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 0, r.stderr
    assert [s for _, s in weights_requests(server)] == [416, 200]
    assert cached(tmp_path).read_bytes() == weights


def test_complete_partial_file_is_installed_without_fetching_again(run, tmp_path, server, weights):
    """A run that stopped between the last byte and the rename: the server's 416 says the .part
    is the whole file, which is verified (size, ETag MD5) and put in place."""
    d = tmp_path / "cache" / "small"
    d.mkdir(parents=True)
    (d / "weights.hdf5.part").write_bytes(weights)
    r = run("download", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 0, r.stderr
    assert weights_requests(server) == [(f"bytes={len(weights)}-", 416)]
    assert cached(tmp_path).read_bytes() == weights
    assert (d / "weights.hdf5.sha256").read_text().strip() == hashlib.sha256(weights).hexdigest()


@pytest.mark.parametrize("fault, message", [
    ({"inflate_total": 10}, "size mismatch"),
    ({"etag": "0123456789abcdef0123456789abcdef"}, "checksum mismatch"),
])
def test_size_and_checksum_mismatches_are_rejected(run, tmp_path, server, fault, message):
    for k, v in fault.items():
        setattr(server.faults, k, v)
    r = run("download", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 1
    assert message in r.stderr and "nothing was installed" in r.stderr
    d = tmp_path / "cache" / "small"
    assert not (d / "weights.hdf5").exists()
    assert not (d / "weights.hdf5.part").exists()
    assert not (d / "weights.hdf5.sha256").exists()


def test_missing_file_on_the_server(run, tmp_path, server):
    server.files.pop(f"/{DIR}/{STEM}_weights.hdf5")
    r = run("download", "small", env={"ELMO_DOWNLOAD_BASE_URL": server.base_url})
    assert r.returncode == 1 and "HTTP 404" in r.stderr and f"{STEM}_weights.hdf5" in r.stderr


def test_two_downloads_at_once_share_the_work(elmo_bin, tmp_path, server, weights):
    """The second process waits for the first (a lock on the .part file), then finds the
    file in place and verified: one transfer, both succeed. The transfer is slowed to about
    three seconds: each process starts Python twice (the wheel's `elmo` script, then the
    resolver the binary runs), which must not outlast the first transfer."""
    import os
    import subprocess
    import time

    server.faults.delay = 0.1
    env = dict(os.environ, ELMO_CACHE_DIR=str(tmp_path / "cache"), ELMO_DOWNLOAD_BASE_URL=server.base_url)
    first = subprocess.Popen([str(elmo_bin), "download", "small"], env=env, stderr=subprocess.PIPE, text=True)
    while not weights_requests(server):
        time.sleep(0.01)
    second = subprocess.Popen([str(elmo_bin), "download", "small"], env=env, stderr=subprocess.PIPE, text=True)
    err1, err2 = first.communicate(timeout=120)[1], second.communicate(timeout=120)[1]
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "waiting for another download" in err2
    assert len(weights_requests(server)) == 1
    assert cached(tmp_path).read_bytes() == weights


def test_offline_message(run, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused
    url = f"http://127.0.0.1:{port}/"
    r = run("download", "original", env={"ELMO_DOWNLOAD_BASE_URL": url})
    assert r.returncode == 1
    assert f"cannot download {url}2x4096_512_2048cnn_2xhighway/elmo_2x4096_512_2048cnn_2xhighway_options.json" in r.stderr
    assert "seems to be offline" in r.stderr and "local path" in r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("elmo: error:")]
    assert len(errors) == 1  # one clear message


def _python_binding(env, code):
    """Runs `code` with the Python binding's download module (skips when it is not installed,
    e.g. outside `make test`'s venv)."""
    import os
    import subprocess
    import sys

    probe = subprocess.run([sys.executable, "-c", "import elmo.download"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the Python binding (import elmo) is not installed here: run through `make test`")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, **env))


def test_cache_is_shared_with_the_python_binding(run, tmp_path, server, weights):
    """A model the CLI downloaded is one the Python binding finds verified, and the other way
    round (download-spec.md: same names, cache layout and sidecars)."""
    env = {"ELMO_CACHE_DIR": str(tmp_path / "cache"), "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    assert run("download", "small", "-q", env=env).returncode == 0
    server.log.clear()
    r = _python_binding(env, "import elmo.download as d, os; p = d.fetch_model('small', progress=False); "
                             "print(p, [d.cached_state(os.path.join(p, f)) for f in ('options.json', 'weights.hdf5')])")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == str(tmp_path / "cache" / "small")
    assert "['ok', 'ok']" in r.stdout and server.log == []  # found verified, nothing fetched

    env2 = {"ELMO_CACHE_DIR": str(tmp_path / "cache2"), "ELMO_DOWNLOAD_BASE_URL": server.base_url}
    r = _python_binding(env2, "import elmo.download as d; d.fetch_model('small', progress=False)")
    assert r.returncode == 0, r.stderr
    server.log.clear()
    r = run("download", "small", env=env2)
    assert r.returncode == 0 and "was already" in r.stderr and server.log == []
    assert (tmp_path / "cache2" / "small" / "weights.hdf5").read_bytes() == weights
