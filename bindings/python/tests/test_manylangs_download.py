"""`manylangs:<code>` through the one resolver (elmo.Model, python -m elmo.resolve): the archive is
downloaded from a local HTTP server (zips made from the ELMoForManyLangs fixture model, laid out as
the released ones: the model files at the top level; a single folder is tested too), unpacked into
<cache>/manylangs-<code>/model, verified on reuse, and embeds exactly as the fixture directory does.
Skips when the fixture (../shared/fixtures/elmoformanylangs or $ELMO_MANYLANGS_FIXTURE) is absent."""

import hashlib
import io
import json
import os
import threading
import zipfile

import numpy as np
import pytest

import elmo
import elmo.resolve
from elmo import _manylangs_cache, manylangs_catalog
from http_server import FileServer
from test_manylangs import FIXTURE
from test_resolve import run

MODEL = os.path.join(FIXTURE, "model")
ARCHIVE = "150.zip"  # manylangs:fr's NLPL id
SENTENCES = [["Zürich", "is", "big", "."], ["the"], ["Naïve", "café", "owners"]]


def archive_of_fixture(folder: str = "") -> bytes:
    """The fixture model zipped, its files under `folder` ("" = the top level, as released)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(MODEL)):
            z.write(os.path.join(MODEL, name), folder + name)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archive():
    if not os.path.isfile(os.path.join(MODEL, "encoder.pkl")):
        pytest.skip(f"ELMoForManyLangs fixture not found in {FIXTURE} (set ELMO_MANYLANGS_FIXTURE)")
    return archive_of_fixture()


@pytest.fixture(scope="module")
def expected(archive):
    with elmo.Model(MODEL) as m:
        return m.embed(SENTENCES, "all")


@pytest.fixture
def server(archive, monkeypatch):
    with FileServer({ARCHIVE: archive}) as s:
        monkeypatch.setenv(manylangs_catalog.BASE_URL_ENV, s.base_url)
        yield s


def embeds_like_the_fixture(model_path, expected):
    with elmo.Model(model_path) as m:
        got = m.embed(SENTENCES, "all")
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert np.array_equal(a, b)


def entry_contents(cache):
    """What <cache>/manylangs-fr holds (names only), sorted."""
    return sorted(os.listdir(cache / "manylangs-fr"))


# ---- download, unpack, reuse ------------------------------------------------------------------

@pytest.mark.parametrize("folder", ["", "fr.model/"], ids=["flat-as-released", "one-folder"])
def test_download_unpacks_and_embeds_like_the_fixture(cache, server, expected, archive, folder):
    served = archive if not folder else archive_of_fixture(folder)
    server.files[ARCHIVE] = served
    with elmo.Model("manylangs:fr") as m:
        got = m.embed(SENTENCES, "all")
    for a, b in zip(got, expected):
        assert np.array_equal(a, b)
    target = cache / "manylangs-fr" / "model"
    # Only the model folder is left: the archive, its sidecar and the temporary folder are gone.
    assert entry_contents(cache) == ["model"]
    assert sorted(os.listdir(target)) == sorted(os.listdir(MODEL) + [_manylangs_cache.MANIFEST])
    manifest = (target / _manylangs_cache.MANIFEST).read_text(encoding="utf-8").splitlines()
    assert manifest[0] == (f"# libelmo: unpacked from {server.base_url}{ARCHIVE} "
                           f"(archive SHA-256 {hashlib.sha256(served).hexdigest()})")
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in manifest[1:]}
    assert listed == {name: hashlib.sha256(open(os.path.join(MODEL, name), "rb").read()).hexdigest()
                      for name in os.listdir(MODEL)}
    assert [r["path"] for r in server.requests] == [ARCHIVE]


def test_second_run_makes_no_request(cache, server, expected):
    first = elmo.resolve.resolve("manylangs:fr", progress=False)
    assert first.source == "download" and first.path == str(cache / "manylangs-fr" / "model")
    assert first.options is None and f"downloaded from {server.base_url}{ARCHIVE}" in first.why
    count = len(server.requests)
    again = elmo.resolve.resolve("manylangs:fr", download=False)
    assert (again.path, again.source) == (first.path, "cache")
    assert again.why == (f"manylangs:fr is the ELMoForManyLangs French model: found in libelmo's cache {first.path} "
                         f"(verified against its {_manylangs_cache.MANIFEST})")
    embeds_like_the_fixture("manylangs:fr", expected)
    assert len(server.requests) == count == 1
    # The code is case-insensitive; the cache folder is the catalogue's code.
    assert elmo.resolve.resolve("manylangs:FR", download=False).path == first.path


def test_interrupted_download_resumes(cache, server, archive, expected):
    server.mode, server.cut_at = "cut", 50000
    with pytest.raises(elmo.DownloadError, match=f"stopped after 50000 of the {len(archive)} bytes"):
        elmo.Model("manylangs:fr")
    part = cache / "manylangs-fr" / "model.zip.part"
    assert part.stat().st_size == 50000
    assert entry_contents(cache) == ["model.zip.part"]  # nothing installed
    # What an unpacking killed midway leaves is cleared by the next install.
    (cache / "manylangs-fr" / "model.0123abcd.tmp").mkdir()
    (cache / "manylangs-fr" / "model.0123abcd.tmp" / "encoder.pkl").write_bytes(b"half")
    server.mode = "normal"
    embeds_like_the_fixture("manylangs:fr", expected)
    assert server.requests[-1]["range"] == "bytes=50000-"
    assert entry_contents(cache) == ["model"]


def corrupted(data: bytes) -> bytes:
    """`data` with bytes flipped inside the first member's compressed data (the zip still opens)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        first = z.infolist()[0]
    start = first.header_offset + 30 + len(first.filename.encode()) + len(first.extra)
    damaged = bytearray(data)
    for i in range(start + 10, start + min(first.compress_size, 200) - 10):
        damaged[i] ^= 0x5A
    return bytes(damaged)


@pytest.mark.parametrize("damage", ["corrupt-member", "truncated", "not-a-zip", "no-model"])
def test_a_corrupt_archive_is_refused_with_nothing_installed(cache, server, archive, damage):
    """The server's ETag matches what it sends: only unpacking can tell."""
    bad = {"corrupt-member": lambda: corrupted(archive), "truncated": lambda: archive[:-200],
           "not-a-zip": lambda: b"<html>Not found</html>" * 100,
           "no-model": lambda: _zip({"README": b"nothing here"})}[damage]()
    server.files[ARCHIVE] = bad
    with pytest.raises(elmo.DownloadError, match=f"{ARCHIVE} is not a usable ELMoForManyLangs archive .*"
                                                 "removed the download, nothing was installed"):
        elmo.resolve.resolve("manylangs:fr", progress=False)
    assert entry_contents(cache) == []
    # Once the server has the right file, the model installs.
    server.files[ARCHIVE] = archive
    assert elmo.resolve.resolve("manylangs:fr", progress=False).source == "download"


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_checksum_mismatch_is_refused_with_nothing_installed(cache, server):
    server.mode = "bad_etag"
    with pytest.raises(elmo.DownloadError, match="checksum mismatch.*nothing was installed"):
        elmo.Model("manylangs:fr")
    assert entry_contents(cache) == []


def test_damaged_unpacked_model_is_fetched_again(cache, server, expected, capsys):
    folder = cache / "manylangs-fr" / "model"
    elmo.resolve.resolve("manylangs:fr", progress=False)
    encoder = folder / "encoder.pkl"
    encoder.write_bytes(encoder.read_bytes()[:-1] + b"\0")
    explained = elmo.resolve.explain("manylangs:fr")
    assert explained.source == "download"
    assert explained.why.startswith(f"manylangs:fr is the ELMoForManyLangs French model; the unpacked model {folder} "
                                    "is damaged: encoder.pkl does not match its recorded SHA-256: would be downloaded")
    with pytest.raises(elmo.DownloadError, match=f"is damaged: encoder.pkl does not match.*run: elmo download manylangs:fr"):
        elmo.resolve.resolve("manylangs:fr", download=False)
    capsys.readouterr()
    embeds_like_the_fixture("manylangs:fr", expected)
    assert f"elmo: the unpacked model {folder} is damaged: encoder.pkl does not match its recorded SHA-256; " \
           "downloading it again" in capsys.readouterr().err
    assert len(server.requests) == 2 and entry_contents(cache) == ["model"]
    # A file gone is damage too.
    os.unlink(folder / "char.dic")
    assert _manylangs_cache.state(str(folder)) == ("damaged", f"the unpacked model {folder} is damaged: "
                                                               "char.dic is missing")


def test_two_threads_download_once(cache, server, expected):
    results, errors = [], []

    def resolve():
        try:
            results.append(elmo.resolve.resolve("manylangs:fr", quiet=True))
        except Exception as error:  # reported below
            errors.append(error)
    threads = [threading.Thread(target=resolve) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.source for r in results) == ["cache", "download"]
    assert len(server.requests) == 1


# ---- names, errors, the command line ----------------------------------------------------------

def test_unknown_code_lists_the_valid_ones(cache):
    with pytest.raises(elmo.InvalidArgumentError, match="unknown ELMoForManyLangs model 'manylangs:xx': the names are "
                                                        "manylangs:ar, manylangs:bg, .*manylangs:zh"):
        elmo.Model("manylangs:xx")
    r = run(["--json", "manylangs:xx"], {"ELMO_CACHE_DIR": cache})
    assert r.returncode == 1 and r.stdout == "" and "manylangs:fr" in r.stderr
    # The other names' error lists the manylangs codes too.
    r = run(["no-such-model"], {"ELMO_CACHE_DIR": cache})
    assert r.returncode == 1 and "or manylangs:<code> for an ELMoForManyLangs model, <code> one of ar, bg," in r.stderr
    assert "manylangs:<code>" in run(["--help"], {}).stdout


def test_command_line_explain_download_and_reuse(cache, server, tmp_path):
    env = {"ELMO_CACHE_DIR": cache, manylangs_catalog.BASE_URL_ENV: server.base_url}
    folder = cache / "manylangs-fr" / "model"
    r = run(["--explain", "manylangs:fr"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"download: {folder}",
        f"why: manylangs:fr is the ELMoForManyLangs French model; not in libelmo's cache {folder}: would be "
        f"downloaded from {server.base_url}{ARCHIVE} and unpacked into {folder}",
        "looked at, in order:", "  local path manylangs:fr", f"  libelmo's cache {folder}"]
    assert server.requests == [] and not cache.exists()
    r = run(["--no-download", "manylangs:fr"], env)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == (
        f"elmo: error: manylangs:fr: not downloaded yet (not in libelmo's cache {folder}); "
        "run: elmo download manylangs:fr")
    r = run(["--json", "--download", "manylangs:fr"], env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["path"], data["options"], data["source"]) == (str(folder), None, "download")
    r = run(["manylangs:fr"], env)
    assert r.returncode == 0 and r.stdout == f"{folder}\n" and len(server.requests) == 1


def test_dir_unpacks_into_the_directory(cache, server, tmp_path, expected):
    env = {"ELMO_CACHE_DIR": cache, manylangs_catalog.BASE_URL_ENV: server.base_url}
    target = tmp_path / "models" / "fr"
    r = run(["--json", "--dir", target, "manylangs:fr"], env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["path"] == str(target) and data["source"] == "download"
    assert sorted(os.listdir(target)) == sorted(os.listdir(MODEL) + [_manylangs_cache.MANIFEST])
    assert os.listdir(tmp_path / "models") == ["fr"] and not cache.exists()
    r = run(["--json", "--dir", target, "manylangs:fr"], env)
    assert json.loads(r.stdout)["source"] == "cache" and len(server.requests) == 1
    embeds_like_the_fixture(str(target), expected)
    # An empty folder is filled; a folder that is someone else's is refused, untouched.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert elmo.resolve.resolve("manylangs:fr", directory=str(empty), quiet=True).source == "download"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    r = run(["--dir", mine, "manylangs:fr"], env)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == (
        f"elmo: error: {mine} has no {_manylangs_cache.MANIFEST} (it is not a model libelmo unpacked): not "
        "replacing it; choose another --dir or remove it")
    assert os.listdir(mine) == ["notes.txt"]
