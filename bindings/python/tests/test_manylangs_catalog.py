"""The ELMoForManyLangs catalogue (elmo.manylangs_catalog): the 44 released models by name, their
addresses, and unpacking a downloaded archive safely. The download goes to a local HTTP server
serving an archive made from the fixture model (the real addresses are not reachable here)."""

import io
import os
import stat
import urllib.request
import zipfile

import numpy as np
import pytest

import elmo
from elmo import manylangs_catalog as catalog
from http_server import FileServer
from test_manylangs import FIXTURE


def test_the_44_models():
    assert len(catalog.MODELS) == 44
    assert sorted(m.nlpl_id for m in catalog.MODELS) == list(range(136, 180))
    assert len(catalog.BY_CODE) == 44
    assert catalog.lookup("manylangs:fr").language == "French"
    assert catalog.lookup("manylangs:fr").url() == "http://vectors.nlpl.eu/repository/11/150.zip"
    assert catalog.lookup("manylangs:nl").nlpl_id == 164 and catalog.lookup("manylangs:nb").nlpl_id == 165
    assert catalog.lookup("zh").name == "manylangs:zh"
    assert catalog.is_manylangs_name("manylangs:de") and not catalog.is_manylangs_name("original")
    assert all(m.size is None and m.sha256 is None for m in catalog.MODELS)  # not published
    with pytest.raises(elmo.InvalidArgumentError, match="manylangs:xx.*manylangs:ar"):
        catalog.lookup("manylangs:xx")


def archive_of_fixture(folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        source = os.path.join(FIXTURE, "model")
        for name in sorted(os.listdir(source)):
            z.write(os.path.join(source, name), folder + name)
    return buf.getvalue()


def test_download_and_unpack_from_a_local_server(tmp_path, monkeypatch):
    if not os.path.isdir(os.path.join(FIXTURE, "model")):
        pytest.skip(f"ELMoForManyLangs fixture not found in {FIXTURE}")
    with FileServer({"150.zip": archive_of_fixture("fr.model/")}) as server:
        monkeypatch.setenv(catalog.BASE_URL_ENV, server.base_url)
        entry = catalog.lookup("manylangs:fr")
        assert entry.url().startswith("http://127.0.0.1:")
        archive = tmp_path / "model.zip"
        with urllib.request.urlopen(entry.url()) as r:
            archive.write_bytes(r.read())
    directory = catalog.extract_model(str(archive), str(tmp_path / "unpacked"))
    assert directory == str(tmp_path / "unpacked" / "fr.model")
    sentences = [["Zürich", "is", "big"], ["the"]]
    with elmo.Model(directory) as unpacked, elmo.Model(os.path.join(FIXTURE, "model")) as original:
        for a, b in zip(unpacked.embed(sentences), original.embed(sentences)):
            assert np.array_equal(a, b)


def hostile(tmp_path, name, data=b"x", attr=None):
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo(name)
        if attr is not None:
            info.external_attr = attr << 16
        z.writestr(info, data)
    return str(path)


def test_unsafe_archives_are_refused(tmp_path):
    out = str(tmp_path / "out")
    with pytest.raises(elmo.InvalidModelError, match="outside"):
        catalog.extract_model(hostile(tmp_path, "../escape.txt"), out)
    with pytest.raises(elmo.InvalidModelError, match="outside"):
        catalog.extract_model(hostile(tmp_path, "/etc/evil"), out)
    with pytest.raises(elmo.InvalidModelError, match="link or special"):
        catalog.extract_model(hostile(tmp_path, "link", b"/etc/passwd", stat.S_IFLNK | 0o777), out)
    with pytest.raises(elmo.InvalidModelError, match="no ELMoForManyLangs model"):
        catalog.extract_model(hostile(tmp_path, "readme.txt"), out)
    (tmp_path / "not.zip").write_bytes(b"not a zip")
    with pytest.raises(elmo.InvalidModelError, match="not a zip"):
        catalog.extract_model(str(tmp_path / "not.zip"), out)
    assert not os.path.exists(tmp_path / "escape.txt")
