"""TF Hub's module cache, read and written (elmo/_tfhub_cache.py): a fabricated cache entry
(the fixture module under the SHA-1 of the handle, with TF Hub's descriptor) loads with no
request; incomplete entries give the documented errors; with $TFHUB_CACHE_DIR set a download
lands in TF Hub's layout; a lock left by an interrupted download is taken over."""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading

import numpy as np
import pytest

import elmo
import elmo.resolve
from elmo import Elmo2Vec, _tfhub_cache

from conftest import REPOSITORY, SENTENCES
from http_server import FileServer, free_port, spec_files

MODULE = os.path.join(REPOSITORY, "Tests", "Fixtures", "tfhub", "module")
TARBALL = MODULE + ".tar.gz"
HANDLE = "https://tfhub.dev/google/elmo/3"
COMPRESSED = "google/elmo/3?tf-hub-format=compressed"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every cache of the test under tmp_path (TF Hub's default one too), nothing listening at
    the download addresses unless a test starts a server."""
    if not os.path.isdir(MODULE):
        pytest.skip(f"{MODULE} not found (tests run from the libelmo repository)")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("ELMO_CACHE_DIR", str(tmp_path / "elmo-cache"))
    for name in ("TFHUB_CACHE_DIR", "TFHUB_MODEL_LOAD_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    offline = f"http://127.0.0.1:{free_port()}/"
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", offline)
    monkeypatch.setenv("ELMO_TFHUB_BASE_URL", offline)


@pytest.fixture
def tfhub_cache(tmp_path, monkeypatch):
    directory = tmp_path / "drive" / "tfhub_modules"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def server(fixture_dir, monkeypatch):
    files = spec_files(fixture_dir)
    with open(TARBALL, "rb") as f:
        files[COMPRESSED] = f.read()
    with FileServer(files) as s:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", s.base_url)
        monkeypatch.setenv("ELMO_TFHUB_BASE_URL", s.base_url)
        yield s


def fabricate(cache, handle=HANDLE):
    """A TF Hub cache entry as tensorflow_hub leaves it: <sha1(handle)>/ and its descriptor."""
    name = hashlib.sha1(handle.encode("utf8")).hexdigest()
    os.makedirs(cache, exist_ok=True)
    shutil.copytree(MODULE, os.path.join(cache, name))
    with open(os.path.join(cache, name + ".descriptor.txt"), "w") as f:
        f.write(f"Module: {handle}\nDownload Time: 2024-01-01 00:00:00\nDownloader Hostname: colab (PID:1)")
    return os.path.join(cache, name)


@pytest.fixture(scope="module")
def expected():
    """The fixture module's vectors, loaded from its own folder."""
    with elmo.Model(MODULE) as m:
        return m.embed(SENTENCES, "all")


def assert_same_vectors(model, expected):
    for a, b in zip(model.embed(SENTENCES, "all"), expected):
        np.testing.assert_array_equal(a, b)


def test_folder_name_is_tensorflow_hubs_sha1_of_the_handle_as_written():
    # Exact values: hashlib.sha1 of the handles' UTF-8 bytes (the query makes another folder).
    assert _tfhub_cache.folder_name("https://tfhub.dev/google/openimages_v4/ssd/mobilenet_v2/1") == \
        "f34b2684786cf6de38511148638abf91283beb1f"
    assert _tfhub_cache.folder_name(HANDLE) == "58051eb9ff2f7c649b7c541acc518dac54e786ca"
    assert _tfhub_cache.folder_name(HANDLE + "?tf-hub-format=compressed") != _tfhub_cache.folder_name(HANDLE)


def test_default_cache_is_tfhub_modules_under_the_temp_dir(tmp_path):
    assert _tfhub_cache.cache_dir() == (str(tmp_path / "tmp" / "tfhub_modules"), False)


@pytest.mark.parametrize("env", [True, False], ids=["TFHUB_CACHE_DIR", "default-temp-dir"])
def test_cached_module_loads_offline(tmp_path, monkeypatch, expected, env):
    cache = tmp_path / "tfhub" if env else tmp_path / "tmp" / "tfhub_modules"
    if env:
        monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    folder = fabricate(cache)
    resolved = elmo.resolve.resolve(HANDLE)
    assert (resolved.path, resolved.source, resolved.options) == (folder, "tfhub-cache", None)
    assert "no download" in resolved.why and folder in resolved.why
    with elmo.Model(HANDLE) as m:  # nothing listens at the download addresses
        assert_same_vectors(m, expected)


def test_no_request_is_made_for_a_cached_module(server, tfhub_cache, expected):
    fabricate(tfhub_cache)
    with elmo.Model(HANDLE + "?tf-hub-format=compressed") as m:  # another folder: the same module is found
        assert_same_vectors(m, expected)
    assert server.requests == []


@pytest.mark.parametrize("handle", [
    "https://www.kaggle.com/models/google/elmo/frameworks/TensorFlow1/variations/elmo/versions/3",
    "https://tfhub.dev/google/elmo/3?tf-hub-format=compressed",
])
def test_equivalent_handles_share_the_cached_module(tfhub_cache, handle):
    folder = fabricate(tfhub_cache, handle)
    resolved = elmo.resolve.resolve(HANDLE)
    assert resolved.path == folder and f"cached for {handle}" in resolved.why


def test_incomplete_module_is_an_error_naming_the_folder(server, tfhub_cache):
    folder = fabricate(tfhub_cache)
    shutil.rmtree(os.path.join(folder, "variables"))
    with pytest.raises(elmo.InvalidModelError) as info:
        elmo.Model(HANDLE)
    message = info.value.message
    assert f"TF Hub's cached module {folder} (for {HANDLE}) is incomplete" in message
    assert "variables/variables.index" in message and "Delete that folder" in message
    assert server.requests == [] and os.path.isdir(folder)


def test_empty_folder_is_not_a_module_and_is_replaced(server, tfhub_cache, expected):
    folder = tfhub_cache / hashlib.sha1(HANDLE.encode()).hexdigest()
    folder.mkdir(parents=True)
    resolved = elmo.resolve.resolve(HANDLE, progress=False)
    assert (resolved.path, resolved.source) == (str(folder), "download") and len(server.requests) == 1
    with elmo.Model(HANDLE) as m:
        assert_same_vectors(m, expected)


def test_missing_data_shard_is_named(tfhub_cache):
    folder = fabricate(tfhub_cache)
    os.rename(os.path.join(folder, "variables", "variables.data-00000-of-00001"),
              os.path.join(folder, "variables", "variables.data-00000-of-00002"))
    with pytest.raises(elmo.InvalidModelError, match="lacks variables/variables.data-00001-of-00002"):
        elmo.resolve.resolve(HANDLE)


def test_truncated_data_file_is_the_librarys_error_naming_the_file(server, tfhub_cache):
    folder = fabricate(tfhub_cache)
    data = os.path.join(folder, "variables", "variables.data-00000-of-00001")
    os.truncate(data, os.path.getsize(data) - 100)
    with pytest.raises(elmo.InvalidModelError, match=f"{data}: .* truncated"):
        elmo.Model(HANDLE)
    assert server.requests == []


def test_download_lands_in_tfhub_layout_then_no_request(server, tfhub_cache, expected):
    with elmo.Model(HANDLE, progress=False) as m:
        assert_same_vectors(m, expected)
    name = hashlib.sha1(HANDLE.encode()).hexdigest()
    assert [r["path"] for r in server.requests] == [COMPRESSED]
    assert sorted(os.listdir(tfhub_cache)) == [name, name + ".descriptor.txt"]
    with open(TARBALL, "rb") as f, tarfile.open(fileobj=f) as archive:
        for member in archive.getmembers():
            if member.isfile():
                with open(tfhub_cache / name / member.name, "rb") as got:
                    assert got.read() == archive.extractfile(member).read()
    descriptor = (tfhub_cache / (name + ".descriptor.txt")).read_text()
    assert descriptor.startswith(f"Module: {HANDLE}\nDownload Time: ")
    assert f"Downloader Hostname: {socket.gethostname()} (PID:{os.getpid()})" in descriptor
    resolved = elmo.resolve.resolve(HANDLE)
    assert resolved.source == "tfhub-cache" and len(server.requests) == 1
    with elmo.Model(HANDLE) as m:
        assert_same_vectors(m, expected)
    assert len(server.requests) == 1


def test_module_from_a_server_that_does_not_state_the_size(server, tfhub_cache, expected):
    """Chunked, no Content-Length: accepted for the tarball, whose gzip trailer catches a cut
    stream (then nothing is installed and the download is removed)."""
    server.mode, server.cut_at = "chunked", 5000
    with pytest.raises(elmo.DownloadError, match="does not appear to be a valid module archive"):
        elmo.resolve.resolve(HANDLE, progress=False)
    assert os.listdir(tfhub_cache) == []
    server.cut_at = 0
    assert elmo.resolve.resolve(HANDLE, progress=False).source == "download"
    with elmo.Model(HANDLE) as m:
        assert_same_vectors(m, expected)


def test_interrupted_module_download_resumes(server, tfhub_cache):
    server.mode, server.cut_at = "cut", 5000
    with pytest.raises(elmo.DownloadError, match="interrupted"):
        elmo.resolve.resolve(HANDLE, progress=False)
    name = hashlib.sha1(HANDLE.encode()).hexdigest()
    assert sorted(os.listdir(tfhub_cache)) == [name + ".tar.gz.part"]  # no lock, no folder left
    server.mode = "normal"
    assert elmo.resolve.resolve(HANDLE, progress=False).source == "download"
    assert server.requests[-1]["range"] == "bytes=5000-"
    assert sorted(os.listdir(tfhub_cache)) == [name, name + ".descriptor.txt"]


def test_lock_left_by_an_interrupted_download_is_taken_over(server, tfhub_cache, expected):
    """tensorflow_hub killed mid-download: its lock (this host, a process that is gone) and its
    temporary folder remain, the module folder does not. libelmo downloads afresh."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name = hashlib.sha1(HANDLE.encode()).hexdigest()
    os.makedirs(tfhub_cache / f"{name}.abc123.tmp" / "variables")
    (tfhub_cache / f"{name}.abc123.tmp" / "saved_model.pb").write_bytes(b"half")
    (tfhub_cache / f"{name}.lock").write_text(f"{socket.gethostname()}.{dead.pid}.abc123")
    resolved = elmo.resolve.resolve(HANDLE, progress=False)
    assert resolved.source == "download" and len(server.requests) == 1
    assert not (tfhub_cache / f"{name}.lock").exists()
    with elmo.Model(resolved.path) as m:
        assert_same_vectors(m, expected)


def test_live_lock_is_waited_for_not_downloaded_twice(server, tfhub_cache, capsys):
    """Another process (here: this one, alive) holds the lock; when it puts the module in
    place and unlocks, the waiting resolver uses it without a request."""
    name = hashlib.sha1(HANDLE.encode()).hexdigest()
    os.makedirs(tfhub_cache)
    lock = tfhub_cache / f"{name}.lock"
    lock.write_text(f"{socket.gethostname()}.{os.getpid()}.abc123")

    def finish_the_other_download():
        fabricate(str(tfhub_cache))
        lock.unlink()
    timer = threading.Timer(0.5, finish_the_other_download)
    timer.start()
    try:
        resolved = elmo.resolve.resolve(HANDLE)
    finally:
        timer.join()
    assert (resolved.path, resolved.source) == (str(tfhub_cache / name), "tfhub-cache") and server.requests == []
    assert "by another download while this one waited" in resolved.why
    assert f"waiting for another download of {HANDLE} ({lock}" in capsys.readouterr().err


def test_old_lock_of_another_host_is_stale_after_ten_minutes(tmp_path):
    lock = tmp_path / "x.lock"
    lock.write_text("otherhost.12.abc")
    now = os.path.getmtime(lock)
    assert not _tfhub_cache.lock_is_stale(str(lock), "otherhost.12.abc", now=now + 599)
    assert _tfhub_cache.lock_is_stale(str(lock), "otherhost.12.abc", now=now + 601)


def test_without_tfhub_cache_dir_the_model_goes_to_libelmos_cache(server, tmp_path):
    resolved = elmo.resolve.resolve(HANDLE, progress=False)
    assert resolved.path == str(tmp_path / "elmo-cache" / "original") and resolved.source == "download"
    assert "$TFHUB_CACHE_DIR is not set" in resolved.why
    assert [r["path"].rsplit("_", 1)[1] for r in server.requests] == ["options.json", "weights.hdf5"]
    assert not (tmp_path / "tmp" / "tfhub_modules").exists()


def test_uncompressed_format_does_not_write_tfhubs_cache(server, tfhub_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("TFHUB_MODEL_LOAD_FORMAT", "UNCOMPRESSED")
    resolved = elmo.resolve.resolve(HANDLE, progress=False)
    assert resolved.path == str(tmp_path / "elmo-cache" / "original")
    assert "TFHUB_MODEL_LOAD_FORMAT=UNCOMPRESSED" in resolved.why and not tfhub_cache.exists()
    fabricate(tfhub_cache)  # but a cached module is still read
    assert elmo.resolve.resolve(HANDLE).source == "tfhub-cache"


def test_bad_load_format_is_an_error(tfhub_cache, monkeypatch):
    monkeypatch.setenv("TFHUB_MODEL_LOAD_FORMAT", "ZIPPED")
    with pytest.raises(elmo.InvalidArgumentError, match="COMPRESSED, UNCOMPRESSED, AUTO"):
        elmo.resolve.resolve(HANDLE)


def test_explain_names_the_folder_it_would_fill(tfhub_cache, monkeypatch):
    monkeypatch.setenv("TFHUB_MODEL_LOAD_FORMAT", "COMPRESSED")
    resolved = elmo.resolve.explain(HANDLE)
    folder = str(tfhub_cache / hashlib.sha1(HANDLE.encode()).hexdigest())
    assert (resolved.path, resolved.source) == (folder, "download")
    assert resolved.looked[1] == f"TF Hub's cache {folder} ({HANDLE})" and not tfhub_cache.exists()


def test_elmo2vec_uses_the_cached_module_with_the_network_off(tfhub_cache, expected):
    fabricate(tfhub_cache)
    with Elmo2Vec() as encoder:  # the default model_url, https://tfhub.dev/google/elmo/3
        assert encoder.vector_length == 8
        assert encoder.model.path == str(tfhub_cache / hashlib.sha1(HANDLE.encode()).hexdigest())
        with elmo.Model(MODULE) as m:
            np.testing.assert_array_equal(encoder.encode("hello world"), m.embed(["hello world"], "default")[0])


def vectorhubs_colab_lines():
    """vectorhub's model card, "Working in Colab", verbatim."""
    os.environ['TFHUB_CACHE_DIR'] = "drive/MyDrive/"
    os.environ["TFHUB_MODEL_LOAD_FORMAT"] = "COMPRESSED"


@pytest.mark.parametrize("cached", [True, False], ids=["module-on-drive", "first-run"])
def test_vectorhubs_colab_snippet_works_unchanged(tmp_path, monkeypatch, fixture_dir, cached):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFHUB_CACHE_DIR", "")  # restored after the test; the snippet sets both
    monkeypatch.setenv("TFHUB_MODEL_LOAD_FORMAT", "")
    vectorhubs_colab_lines()
    drive = tmp_path / "drive" / "MyDrive"
    folder = drive / "58051eb9ff2f7c649b7c541acc518dac54e786ca"
    files = spec_files(fixture_dir)
    with open(TARBALL, "rb") as f:
        files[COMPRESSED] = f.read()
    if cached:
        fabricate(str(drive))
    with FileServer(files) as server:
        monkeypatch.setenv("ELMO_TFHUB_BASE_URL", server.base_url)
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", server.base_url)
        model = Elmo2Vec()
        vector = model.encode("I enjoy taking long walks along the beach with my dog.")
        assert len(vector) == model.vector_length == 8
        assert model.model.path == str(folder)
        assert len(server.requests) == (0 if cached else 1)
        model.close()
        with Elmo2Vec() as again:  # the next session: from Drive, no request
            assert again.encode("I enjoy taking long walks along the beach with my dog.") == vector
        assert len(server.requests) == (0 if cached else 1)
    assert (drive / "58051eb9ff2f7c649b7c541acc518dac54e786ca.descriptor.txt").is_file()
