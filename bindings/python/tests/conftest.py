"""Shared test fixtures: the bilm-tf fixture model, the repository paths, a fresh cache."""

import json
import os

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.normpath(os.path.join(TESTS, "..", "..", ".."))
HEADER = os.path.join(REPOSITORY, "include", "elmo.h")
FIXTURES = os.environ.get("ELMO_FIXTURES") or os.path.normpath(
    os.path.join(REPOSITORY, "..", "shared", "fixtures", "bilm-tf"))

#: The fixture model's sizes (options.json: projection 16, 2 LSTM layers).
TOKEN_DIM = 16
OUTPUT_DIM = 32
LAYERS = 3


def fixtures_present() -> bool:
    return all(os.path.isfile(os.path.join(FIXTURES, f)) for f in ("options.json", "lm_weights.hdf5"))


@pytest.fixture(scope="session")
def fixture_dir():
    """The bilm-tf fixture directory (skips the test when it is absent)."""
    if not fixtures_present():
        pytest.skip(f"bilm-tf fixtures not found in {FIXTURES} (set ELMO_FIXTURES)")
    return FIXTURES


@pytest.fixture(scope="session")
def model(fixture_dir):
    """One fixture model shared by the tests that only read it."""
    import elmo
    m = elmo.Model(fixture_dir)
    yield m
    m.close()


@pytest.fixture(scope="session")
def fixture_sentences(fixture_dir):
    """sentences.json: 3 lists of 10 sentences, tokens separated by single spaces."""
    with open(os.path.join(fixture_dir, "sentences.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty model cache ($ELMO_CACHE_DIR) for the test; the machine's own TF Hub and
    AllenNLP caches (which the resolver reads) are out of sight too."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("ELMO_CACHE_DIR", str(directory))
    monkeypatch.setenv("ALLENNLP_CACHE_ROOT", str(tmp_path / "allennlp"))
    monkeypatch.delenv("TFHUB_CACHE_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # TF Hub's default cache: <tmp>/tfhub_modules
    return directory


#: Sentences with varied lengths, punctuation and non-ASCII text.
SENTENCES = [
    "The bank of the river .",
    "A loan from the bank .",
    "Elk calling -- a skill that hunters perfected long ago .",
    "Naïve café owners süß ! 日本語",
    "one",
]
