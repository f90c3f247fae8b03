"""AllenNLP's download cache, read (elmo/_allennlp_cache.py): a fabricated cache entry (files
named as AllenNLP's cached_path names them, with its .json metadata) is used with no request;
entries that fail the checks are skipped and the model is downloaded into libelmo's cache."""

import hashlib
import json
import os

import numpy as np
import pytest

import elmo
import elmo.resolve
from elmo import _allennlp_cache

from conftest import SENTENCES
from http_server import FileServer, free_port, spec_files

BASE = "https://allennlp.s3.amazonaws.com/models/elmo/"
OLD_BASE = "https://s3-us-west-2.amazonaws.com/allennlp/models/elmo/"
SMALL = "2x1024_128_2048cnn_1xhighway/elmo_2x1024_128_2048cnn_1xhighway"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("ELMO_CACHE_DIR", str(tmp_path / "elmo-cache"))
    monkeypatch.setenv("ALLENNLP_CACHE_ROOT", str(tmp_path / "allennlp"))
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", f"http://127.0.0.1:{free_port()}/")  # offline


@pytest.fixture
def server(fixture_dir, monkeypatch):
    files = spec_files(fixture_dir)
    with open(os.path.join(fixture_dir, "lm_weights.hdf5"), "rb") as f:
        files["contributed/pubmed_weights.hdf5"] = f.read()
    with FileServer(files) as s:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", s.base_url)
        yield s


@pytest.fixture
def contents(fixture_dir):
    """The fixture's files by the suffix of their published names."""
    published = spec_files(fixture_dir, names=("small",))
    return {suffix: published[SMALL + suffix] for suffix in ("_options.json", "_weights.hdf5")}


def cache_entry(directory, url, data, *, etag="md5", old_meta=False, meta=True):
    """One file as AllenNLP's cached_path leaves it: sha256(url).sha256(etag) and its .json."""
    if etag == "md5":
        etag = '"' + hashlib.md5(data).hexdigest() + '"'  # S3's ETag of a single-part upload
    name = hashlib.sha256(url.encode()).hexdigest()
    if etag:
        name += "." + hashlib.sha256(etag.encode()).hexdigest()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    if meta:
        record = {"url": url, "etag": etag} if old_meta else {
            "resource": url, "cached_path": path, "creation_time": 1.7e9, "size": len(data), "etag": etag,
            "extraction_dir": False}
        with open(path + ".json", "w") as f:
            json.dump(record, f)
    return path


def fabricate(tmp_path, contents, base=BASE, sub="cache", **kwargs):
    return {suffix: cache_entry(tmp_path / "allennlp" / sub, f"{base}{SMALL}{suffix}", data, **kwargs)
            for suffix, data in contents.items()}


def test_file_name_rule():
    url = BASE + SMALL + "_weights.hdf5"
    assert _allennlp_cache.file_name(url) == hashlib.sha256(url.encode("utf-8")).hexdigest()
    assert _allennlp_cache.file_name(url, '"abc"') == (hashlib.sha256(url.encode()).hexdigest() + "."
                                                       + hashlib.sha256(b'"abc"').hexdigest())


def test_cache_dirs(tmp_path, monkeypatch):
    assert _allennlp_cache.cache_dirs() == [str(tmp_path / "allennlp" / "cache"), str(tmp_path / "allennlp" / "datasets")]
    monkeypatch.delenv("ALLENNLP_CACHE_ROOT")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _allennlp_cache.cache_dirs()[0] == str(tmp_path / "home" / ".allennlp" / "cache")


def test_cached_model_is_used_with_no_request(server, tmp_path, contents, fixture_dir):
    paths = fabricate(tmp_path, contents)
    resolved = elmo.resolve.resolve("small")
    assert (resolved.path, resolved.options, resolved.source) == (
        paths["_weights.hdf5"], paths["_options.json"], "allennlp-cache")
    assert "verified: size and MD5 = ETag" in resolved.why
    with elmo.Model("small") as m, elmo.Model(fixture_dir) as reference:
        for a, b in zip(m.embed(SENTENCES, "all"), reference.embed(SENTENCES, "all")):
            np.testing.assert_array_equal(a, b)
    assert server.requests == []
    assert not (tmp_path / "elmo-cache").exists()  # nothing copied


def test_urls_as_allennlp_users_pass_them(server, tmp_path, contents):
    """elmo.Model(weights_url, options=options_url), as ElmoEmbedder(options_file, weight_file)."""
    paths = fabricate(tmp_path, contents, base=OLD_BASE)
    with elmo.Model(OLD_BASE + SMALL + "_weights.hdf5", options=OLD_BASE + SMALL + "_options.json") as m:
        assert m.output_dim == 32
    resolved = elmo.resolve.resolve(OLD_BASE + SMALL + "_weights.hdf5")
    assert (resolved.path, resolved.source) == (paths["_weights.hdf5"], "allennlp-cache")
    assert server.requests == []


def test_old_metadata_in_the_old_directory(server, tmp_path, contents):
    fabricate(tmp_path, contents, sub="datasets", old_meta=True)
    resolved = elmo.resolve.resolve("small")
    assert resolved.source == "allennlp-cache" and "verified: MD5 = ETag" in resolved.why
    assert server.requests == []


def test_unverifiable_entry_is_used_and_said_so(server, tmp_path, contents):
    fabricate(tmp_path, contents, etag='"0123abcd-7"', old_meta=True)  # multipart ETag, no size
    resolved = elmo.resolve.resolve("small")
    assert resolved.source == "allennlp-cache" and "not verifiable" in resolved.why


@pytest.mark.parametrize("damage, reason", [
    ("flip", "does not match the ETag"),
    ("truncate", "its .json metadata records"),
    ("no_meta", "no .json metadata"),
])
def test_damaged_entry_is_skipped_and_the_model_downloaded(server, tmp_path, contents, damage, reason):
    paths = fabricate(tmp_path, contents)
    weights = paths["_weights.hdf5"]
    if damage == "flip":
        data = bytearray(contents["_weights.hdf5"])
        data[1000] ^= 0xFF
        open(weights, "wb").write(bytes(data))
    elif damage == "truncate":
        os.truncate(weights, 1000)
    else:
        os.unlink(weights + ".json")
    before = open(weights, "rb").read()
    resolved = elmo.resolve.resolve("small", progress=False)
    assert (resolved.path, resolved.source) == (str(tmp_path / "elmo-cache" / "small"), "download")
    assert any(line.startswith(f"  skipped {weights}: ") and reason in line for line in resolved.looked)
    assert len(server.gets("_weights.hdf5")) == 1
    assert open(weights, "rb").read() == before  # AllenNLP's cache is left alone
    with elmo.Model("small") as m:
        assert m.output_dim == 32
    assert len(server.gets("_weights.hdf5")) == 1  # now from libelmo's cache


def test_entry_of_another_url_is_not_used(server, tmp_path, contents):
    paths = fabricate(tmp_path, contents)
    meta = json.load(open(paths["_weights.hdf5"] + ".json"))
    meta["resource"] = BASE + "other_weights.hdf5"
    json.dump(meta, open(paths["_weights.hdf5"] + ".json", "w"))
    resolved = elmo.resolve.explain("small")
    assert resolved.source == "download"
    assert any("names 'https://allennlp.s3.amazonaws.com/models/elmo/other_weights.hdf5'" in line
               for line in resolved.looked)


def test_any_weights_url_reads_allennlps_cache_then_downloads_once(server, tmp_path, contents, fixture_dir):
    url = server.base_url + "contributed/pubmed_weights.hdf5"
    options = os.path.join(fixture_dir, "options.json")
    resolved = elmo.resolve.resolve(url, options=options, progress=False)
    assert resolved.source == "download" and resolved.options == options
    assert resolved.path.startswith(str(tmp_path / "elmo-cache" / "urls")) and resolved.path.endswith("pubmed_weights.hdf5")
    assert elmo.resolve.resolve(url).source == "cache" and len(server.requests) == 1
    with elmo.Model(url, options=options) as m:
        assert m.output_dim == 32
    assert len(server.requests) == 1
    other = server.base_url + "contributed/elsewhere_weights.hdf5"
    path = cache_entry(tmp_path / "allennlp" / "cache", other, contents["_weights.hdf5"])
    assert elmo.resolve.resolve(other).path == path and len(server.requests) == 1


def test_published_urls_not_cached_anywhere_download_each_file_once(server, tmp_path):
    """ElmoEmbedder(options_url, weights_url) of a published model: both files fetched once,
    into libelmo's cache for that model (the options URL is not fetched separately)."""
    weights_url = server.base_url + SMALL + "_weights.hdf5"
    options_url = server.base_url + SMALL + "_options.json"
    resolved = elmo.resolve.resolve(weights_url, options=options_url, progress=False)
    assert (resolved.path, resolved.options) == (str(tmp_path / "elmo-cache" / "small"), None)
    with elmo.Model(weights_url, options=options_url) as m:
        assert m.output_dim == 32
    assert sorted(r["path"].rsplit("_", 1)[1] for r in server.requests) == ["options.json", "weights.hdf5"]
