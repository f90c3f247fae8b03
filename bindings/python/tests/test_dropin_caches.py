"""The drop-in APIs' default arguments through the one resolver: ``ElmoEmbedder()`` (AllenNLP's
S3 options/weights URLs of the original model) served from a fabricated AllenNLP cache entry
with no request, or downloaded once from the local server; ``elmo.hub.load`` of TF Hub's
google/elmo/3 handle served from a fabricated TF Hub cache with no request. The vectors are
compared with the same files loaded from their own folder."""

import os

import numpy as np
import pytest

import elmo
import elmo.hub
from elmo.allennlp import DEFAULT_OPTIONS_FILE, DEFAULT_WEIGHT_FILE, ElmoEmbedder
from elmo.download import MODELS

from conftest import SENTENCES
from http_server import FileServer, free_port, spec_files
from test_allennlp_cache import cache_entry
from test_tfhub_cache import HANDLE, MODULE, fabricate as fabricate_tfhub_entry

TOKENS = [sentence.split() for sentence in SENTENCES]
#: The address AllenNLP's later docs gave for the same files as the defaults.
NEW_BASE = "https://allennlp.s3.amazonaws.com/models/elmo/"
OLD_BASE = "https://s3-us-west-2.amazonaws.com/allennlp/models/elmo/"


@pytest.fixture
def server(cache, fixture_dir, monkeypatch):
    """The fixture published as every named model, at $ELMO_DOWNLOAD_BASE_URL (and as TF Hub's
    download address), counting requests."""
    with FileServer(spec_files(fixture_dir)) as s:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", s.base_url)
        monkeypatch.setenv("ELMO_TFHUB_BASE_URL", s.base_url)
        yield s


@pytest.fixture(scope="module")
def expected(fixture_dir):
    with elmo.Model(fixture_dir) as m:
        return m.embed(TOKENS, "all")


def check_embedder(embedder, expected):
    for tokens, want in zip(TOKENS, expected):
        np.testing.assert_array_equal(embedder.embed_sentence(tokens), want)
    for got, want in zip(embedder.embed_batch(TOKENS), expected):
        np.testing.assert_array_equal(got, want)


def fabricate_allennlp_entry(tmp_path, fixture_dir):
    """The original model's two files in AllenNLP's cache, under the default (S3) URLs."""
    paths = {}
    for local, url in (("options.json", DEFAULT_OPTIONS_FILE), ("lm_weights.hdf5", DEFAULT_WEIGHT_FILE)):
        with open(os.path.join(fixture_dir, local), "rb") as f:
            paths[local] = cache_entry(tmp_path / "allennlp" / "cache", url, f.read())
    return paths


def test_embedder_defaults_from_allennlps_cache(server, cache, tmp_path, fixture_dir, expected):
    paths = fabricate_allennlp_entry(tmp_path, fixture_dir)
    with ElmoEmbedder() as embedder:
        assert embedder.model.path == paths["lm_weights.hdf5"]
        check_embedder(embedder, expected)
    explicit = [(DEFAULT_OPTIONS_FILE, DEFAULT_WEIGHT_FILE),
                (DEFAULT_OPTIONS_FILE.replace(OLD_BASE, NEW_BASE), DEFAULT_WEIGHT_FILE.replace(OLD_BASE, NEW_BASE))]
    for options_file, weight_file in explicit:
        with ElmoEmbedder(options_file, weight_file) as embedder:
            assert embedder.model.path == paths["lm_weights.hdf5"]
            check_embedder(embedder, expected)
    with ElmoEmbedder(options_file=DEFAULT_OPTIONS_FILE, weight_file=DEFAULT_WEIGHT_FILE) as embedder:
        check_embedder(embedder, expected)
    assert server.requests == []
    assert not cache.exists()  # nothing copied into libelmo's cache


def test_embed_file_with_defaults_from_allennlps_cache(server, cache, tmp_path, fixture_dir, expected, monkeypatch):
    """The `elmo embed` command gets the cached weights and options (hashed names in
    AllenNLP's cache) as one model directory."""
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the written file")
    from test_allennlp import elmo_cli
    monkeypatch.setenv("ELMO_CLI", elmo_cli())
    fabricate_allennlp_entry(tmp_path, fixture_dir)
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    with ElmoEmbedder() as embedder:
        embedder.embed_file(str(source), str(tmp_path / "out.hdf5"))
    with h5py.File(tmp_path / "out.hdf5", "r") as f:
        for i, want in enumerate(expected):
            np.testing.assert_allclose(np.asarray(f[str(i)]), want, rtol=0, atol=1e-6)
    assert server.requests == []


def test_embedder_defaults_download_once(server, cache, expected):
    with ElmoEmbedder() as embedder:
        assert embedder.model.path == str(cache / "original")
        check_embedder(embedder, expected)
    fetched = sorted(r["path"].rsplit("_", 1)[1] for r in server.requests)
    assert fetched == ["options.json", "weights.hdf5"]
    # The same model by its explicit URLs (both published addresses, and the server's own):
    # libelmo's cache now, no second request.
    config, stem = MODELS["original"]
    for base in (OLD_BASE, NEW_BASE, server.base_url):
        with ElmoEmbedder(f"{base}{config}/{stem}_options.json", f"{base}{config}/{stem}_weights.hdf5") as embedder:
            assert embedder.model.path == str(cache / "original")
            check_embedder(embedder, expected)
    assert len(server.requests) == 2


def test_embedder_defaults_without_cache_or_network_say_so(cache, monkeypatch):
    monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(elmo.DownloadError):
        ElmoEmbedder()


@pytest.mark.parametrize("explicit_cache", [True, False], ids=["TFHUB_CACHE_DIR", "default-tfhub-cache"])
def test_hub_load_from_tfhubs_cache(server, cache, tmp_path, monkeypatch, explicit_cache):
    if not os.path.isdir(MODULE):
        pytest.skip(f"{MODULE} not found (tests run from the libelmo repository)")
    if explicit_cache:
        directory = tmp_path / "drive" / "tfhub_modules"
        monkeypatch.setenv("TFHUB_CACHE_DIR", str(directory))
    else:
        directory = tmp_path / "tfhub_modules"  # the `cache` fixture's temp dir
    folder = fabricate_tfhub_entry(str(directory))
    with elmo.Model(MODULE) as reference:
        want_all = reference.embed(TOKENS, "all")
        want_elmo = reference.embed(TOKENS, "elmo")
    with elmo.hub.load(HANDLE) as module:
        assert module.model.path == folder
        out = module.signatures["default"](SENTENCES)
        for i, (layers, mixed) in enumerate(zip(want_all, want_elmo)):
            n = layers.shape[1]
            assert out["sequence_len"][i] == n
            np.testing.assert_array_equal(out["lstm_outputs1"][i, :n], layers[1])
            np.testing.assert_array_equal(out["lstm_outputs2"][i, :n], layers[2])
            np.testing.assert_allclose(out["elmo"][i, :n], mixed, rtol=0, atol=1e-6)
    assert server.requests == []
    assert not cache.exists()
