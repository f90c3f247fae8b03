"""Models by name, downloaded per the download spec, tested against a local HTTP server on
127.0.0.1 that serves the fixture files under the spec's relative paths."""

import hashlib
import io
import os
import threading

import numpy as np
import pytest

import elmo
from elmo import download
from elmo._progress import Progress

from http_server import FileServer, free_port, spec_files


@pytest.fixture
def server(fixture_dir, monkeypatch):
    with FileServer(spec_files(fixture_dir)) as s:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", s.base_url)
        yield s


@pytest.fixture(scope="module")
def fixture_bytes(fixture_dir):
    with open(os.path.join(fixture_dir, "lm_weights.hdf5"), "rb") as f:
        weights = f.read()
    with open(os.path.join(fixture_dir, "options.json"), "rb") as f:
        options = f.read()
    return {"weights.hdf5": weights, "options.json": options}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def weights_url(name="small"):
    return download.model_urls(name)["weights.hdf5"]


# ---- names, URLs, cache directory ---------------------------------------------------------------

def test_official_urls(monkeypatch):
    monkeypatch.delenv("ELMO_DOWNLOAD_BASE_URL", raising=False)
    base = "https://allennlp.s3.amazonaws.com/models/elmo/"
    expected = {
        "small": "2x1024_128_2048cnn_1xhighway/elmo_2x1024_128_2048cnn_1xhighway",
        "medium": "2x2048_256_2048cnn_1xhighway/elmo_2x2048_256_2048cnn_1xhighway",
        "original": "2x4096_512_2048cnn_2xhighway/elmo_2x4096_512_2048cnn_2xhighway",
        "original5.5B": "2x4096_512_2048cnn_2xhighway_5.5B/elmo_2x4096_512_2048cnn_2xhighway_5.5B",
    }
    assert list(download.MODELS) == list(expected)
    for name, path in expected.items():
        assert download.model_urls(name) == {"options.json": base + path + "_options.json",
                                             "weights.hdf5": base + path + "_weights.hdf5"}
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", "http://127.0.0.1:9/mirror")
    assert download.model_urls("small")["options.json"] == \
        "http://127.0.0.1:9/mirror/2x1024_128_2048cnn_1xhighway/elmo_2x1024_128_2048cnn_1xhighway_options.json"
    with pytest.raises(elmo.InvalidArgumentError, match="unknown model name 'large'"):
        download.model_urls("large")


def test_cache_directory_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ELMO_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert download.cache_dir() == str(tmp_path / "home" / ".cache" / "elmo")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.cache_dir() == str(tmp_path / "xdg" / "elmo")
    monkeypatch.setenv("ELMO_CACHE_DIR", str(tmp_path / "explicit"))
    assert download.cache_dir() == str(tmp_path / "explicit")
    assert download.model_directory("medium") == str(tmp_path / "explicit" / "medium")


# ---- fresh download, reuse, repair ------------------------------------------------------------

def test_fresh_download_places_files_and_sidecars(server, cache, fixture_bytes, fixture_dir):
    with elmo.Model("small") as m:
        assert m.path == str(cache / "small")
        downloaded = m.embed(["The bank of the river ."], "all")[0]
    directory = cache / "small"
    assert sorted(os.listdir(directory)) == ["options.json", "options.json.sha256", "weights.hdf5",
                                             "weights.hdf5.sha256"]
    for name, data in fixture_bytes.items():
        assert (directory / name).read_bytes() == data
        assert (directory / (name + ".sha256")).read_text().strip() == sha256(data)
    with elmo.Model(fixture_dir) as local:
        np.testing.assert_array_equal(downloaded, local.embed(["The bank of the river ."], "all")[0])
    assert len(server.gets("_weights.hdf5")) == 1 and len(server.gets("_options.json")) == 1


def test_cached_model_is_verified_and_reused_without_network(server, cache, monkeypatch):
    download.fetch_model("small")
    assert len(server.gets("_weights.hdf5")) == 1
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", f"http://127.0.0.1:{free_port()}/")  # nothing listens
    with elmo.Model("small") as m:
        assert m.output_dim == 32
    assert len(server.gets("_weights.hdf5")) == 1


def test_corrupt_cached_file_is_reported_and_fetched_again(server, cache, fixture_bytes, capsys):
    directory = download.fetch_model("small")
    weights = os.path.join(directory, "weights.hdf5")
    with open(weights, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    download.fetch_model("small")
    assert "does not match its recorded SHA-256" in capsys.readouterr().err
    assert open(weights, "rb").read() == fixture_bytes["weights.hdf5"]
    assert len(server.gets("_weights.hdf5")) == 2


def test_file_without_sidecar_is_fetched_again(server, cache, fixture_bytes, capsys):
    directory = download.fetch_model("small")
    os.unlink(os.path.join(directory, "weights.hdf5.sha256"))
    download.fetch_model("small")
    assert "does not match its recorded SHA-256" in capsys.readouterr().err
    assert download.read_sidecar(os.path.join(directory, "weights.hdf5")) == sha256(fixture_bytes["weights.hdf5"])


def test_two_threads_fetching_one_model_download_it_once(server, cache):
    errors = []

    def fetch():
        try:
            download.fetch_model("small")
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(server.gets("_weights.hdf5")) == 1
    assert download.cached_state(str(cache / "small" / "weights.hdf5")) == "ok"


# ---- resume -----------------------------------------------------------------------------------

def test_resume_from_a_partial_file(server, cache, fixture_bytes):
    data = fixture_bytes["weights.hdf5"]
    directory = cache / "small"
    directory.mkdir(parents=True)
    (directory / "weights.hdf5.part").write_bytes(data[:100000])
    download.fetch_model("small")
    (request,) = server.gets("_weights.hdf5")
    assert request["range"] == "bytes=100000-"
    assert (directory / "weights.hdf5").read_bytes() == data
    assert not (directory / "weights.hdf5.part").exists()
    assert download.read_sidecar(str(directory / "weights.hdf5")) == sha256(data)


def test_resume_when_the_server_ignores_range_starts_over(server, cache, fixture_bytes):
    data = fixture_bytes["weights.hdf5"]
    directory = cache / "small"
    directory.mkdir(parents=True)
    (directory / "weights.hdf5.part").write_bytes(b"garbage that must not survive")
    server.mode = "no_range"
    download.fetch_model("small")
    assert server.gets("_weights.hdf5")[0]["range"] is not None
    assert (directory / "weights.hdf5").read_bytes() == data


def test_complete_partial_file_is_placed(server, cache, fixture_bytes):
    """A .part that already holds the whole file (416 with the same total) is verified and placed."""
    data = fixture_bytes["weights.hdf5"]
    directory = cache / "small"
    directory.mkdir(parents=True)
    (directory / "weights.hdf5.part").write_bytes(data)
    download.fetch_model("small")
    assert (directory / "weights.hdf5").read_bytes() == data


def test_oversized_partial_file_starts_over(server, cache, fixture_bytes):
    data = fixture_bytes["weights.hdf5"]
    directory = cache / "small"
    directory.mkdir(parents=True)
    (directory / "weights.hdf5.part").write_bytes(data + b"extra bytes")
    download.fetch_model("small")
    assert (directory / "weights.hdf5").read_bytes() == data


# ---- interruptions and mismatches -----------------------------------------------------------

def test_interrupted_download_leaves_no_final_file_and_resumes(server, cache, fixture_bytes):
    data = fixture_bytes["weights.hdf5"]
    destination = cache / "small" / "weights.hdf5"
    server.mode, server.cut_at = "cut", 123456
    with pytest.raises(elmo.DownloadError, match="stopped after 123456 of the 450896 bytes") as info:
        elmo.Model("small")
    assert isinstance(info.value, elmo.ElmoIOError) and info.value.status_name == "ELMO_ERR_IO"
    assert not destination.exists()
    assert not (cache / "small" / "weights.hdf5.sha256").exists()
    assert (cache / "small" / "weights.hdf5.part").stat().st_size == 123456
    server.mode = "normal"
    with elmo.Model("small") as m:
        assert m.output_dim == 32
    assert server.gets("_weights.hdf5")[-1]["range"] == "bytes=123456-"
    assert destination.read_bytes() == data


def test_size_mismatch_is_rejected(server, cache, fixture_bytes):
    server.mode = "wrong_total"  # the server claims 10 bytes more than it has
    size = len(fixture_bytes["options.json"])
    with pytest.raises(elmo.DownloadError, match=f"stopped after {size} of the {size + 10} bytes"):
        download.fetch_model("small")
    assert not (cache / "small" / "options.json").exists()
    # Resumed against the same server: its total still disagrees with the data.
    with pytest.raises(elmo.DownloadError, match=f"stopped after {size} of the {size + 10} bytes"):
        download.fetch_model("small")
    assert not (cache / "small" / "options.json").exists()


def test_md5_etag_mismatch_is_rejected(server, cache):
    server.mode = "bad_etag"
    with pytest.raises(elmo.DownloadError, match="does not match the server's ETag"):
        download.fetch_model("small")
    assert not (cache / "small" / "options.json").exists()
    assert not (cache / "small" / "options.json.part").exists(), "a corrupt download is removed"


def test_download_without_etag_is_accepted(server, cache, fixture_bytes):
    server.mode = "no_etag"
    directory = download.fetch_model("small")
    assert open(os.path.join(directory, "weights.hdf5"), "rb").read() == fixture_bytes["weights.hdf5"]


def test_pinned_sha256_mismatch_is_rejected(server, cache, fixture_bytes, monkeypatch):
    monkeypatch.setitem(download.PINNED_SHA256, ("small", "options.json"), "0" * 64)
    with pytest.raises(elmo.DownloadError, match="is not the published"):
        download.fetch_model("small")
    assert not (cache / "small" / "options.json").exists()
    monkeypatch.setitem(download.PINNED_SHA256, ("small", "options.json"), sha256(fixture_bytes["options.json"]))
    download.fetch_model("small")
    assert (cache / "small" / "options.json").exists()


def test_http_error(server, cache, monkeypatch):
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", server.base_url + "missing/")
    with pytest.raises(elmo.DownloadError, match="HTTP 404"):
        download.fetch_model("small")


def test_offline_is_one_clear_message(cache, monkeypatch, fixture_dir):
    base = f"http://127.0.0.1:{free_port()}/"
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", base)
    with pytest.raises(elmo.DownloadError) as info:
        elmo.Model("small")
    message = info.value.message
    assert base + "2x1024_128_2048cnn_1xhighway/elmo_2x1024_128_2048cnn_1xhighway_options.json" in message
    assert "seems to be offline" in message
    assert "local path" in message
    # A local path never needs the network.
    with elmo.Model(fixture_dir) as m:
        assert m.output_dim == 32


def test_existing_local_path_wins_over_a_name(server, cache, fixture_dir, tmp_path, monkeypatch):
    local = tmp_path / "small"
    local.mkdir()
    for name in ("options.json", "lm_weights.hdf5"):
        os.symlink(os.path.join(fixture_dir, name), local / name)
    monkeypatch.chdir(tmp_path)
    with elmo.Model("small") as m:
        assert m.path == "small"
    assert server.requests == []


# ---- TF Hub addresses ---------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "https://tfhub.dev/google/elmo/3",
    "https://tfhub.dev/google/elmo/2",
    "https://tfhub.dev/google/elmo/3?tf-hub-format=compressed",
    "http://tfhub.dev/google/elmo/2/",
    "tfhub.dev/google/elmo/3",
    "https://www.kaggle.com/models/google/elmo/frameworks/TensorFlow1/variations/elmo/versions/3",
    "https://www.kaggle.com/models/google/elmo/TensorFlow1/elmo/2",
    "https://storage.googleapis.com/tfhub-modules/google/elmo/3.tar.gz",
])
def test_tfhub_addresses_mean_the_original_model(address):
    from elmo._resolve import model_name
    assert model_name(address) == "original"


def test_other_addresses_are_not_names():
    from elmo._resolve import model_name
    assert model_name("https://tfhub.dev/google/universal-sentence-encoder/4") is None
    assert model_name("original") == "original" and model_name("original5.5B") == "original5.5B"
    assert model_name("Original") is None
    with pytest.raises(elmo.InvalidArgumentError, match="version 4 is not known"):
        model_name("https://tfhub.dev/google/elmo/4")


def test_tfhub_address_downloads_the_original_model(server, cache):
    with elmo.Model("https://tfhub.dev/google/elmo/3?tf-hub-format=compressed") as m:
        assert m.path == str(cache / "original")
    assert server.gets("2x4096_512_2048cnn_2xhighway/elmo_2x4096_512_2048cnn_2xhighway_weights.hdf5")


# ---- progress bar -----------------------------------------------------------------------------

def test_progress_bar_shows_bytes_rate_and_eta():
    stream = io.StringIO()
    bar = Progress("small/weights.hdf5", total=4_000_000, start=1_000_000, enabled=True, stream=stream)
    bar._last_draw = -1.0
    bar.update(1_000_000)
    bar.finish()
    text = stream.getvalue()
    assert "small/weights.hdf5: 2.0 MB / 4.0 MB" in text
    assert "50.0%" in text and "B/s" in text and "ETA" in text
    assert text.endswith("\n")


def test_progress_is_quiet_when_stderr_is_not_a_terminal(server, cache, capfd):
    download.fetch_model("small")
    assert capfd.readouterr().err == ""
    assert not Progress("x", 10, stream=io.StringIO()).enabled
