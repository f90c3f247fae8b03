"""elmo.hub: TF Hub's google/elmo signatures (default, tokens, direct call) on the fixture model
and on the committed TF Hub module, against elmo.Model's outputs."""

import os

import numpy as np
import pytest

import elmo
import elmo.hub as hub

from conftest import REPOSITORY

TFHUB_FIXTURE = os.path.join(REPOSITORY, "Tests", "Fixtures", "tfhub")
TEXTS = ["the cat sat on the mat", "a dog", "", "Naïve café owners süß !"]
KEYS = {"word_emb", "lstm_outputs1", "lstm_outputs2", "elmo", "default", "sequence_len"}


@pytest.fixture(scope="module")
def module(fixture_dir):
    with hub.load(fixture_dir) as m:
        yield m


def check_against_model(out, model, sentences, width):
    lengths = [len(s) for s in sentences]
    assert out["sequence_len"].tolist() == lengths and out["sequence_len"].dtype == np.int32
    assert out["word_emb"].shape == (len(sentences), width, model.token_dim)
    for key in ("lstm_outputs1", "lstm_outputs2", "elmo"):
        assert out[key].shape == (len(sentences), width, model.output_dim)
    assert out["default"].shape == (len(sentences), model.output_dim)
    for key in ("word_emb", "lstm_outputs1", "lstm_outputs2", "elmo", "default"):
        expected = model.embed(sentences, key)
        for i, n in enumerate(lengths):
            if key == "default":
                np.testing.assert_allclose(out[key][i], expected[i], rtol=0, atol=1e-6)
                continue
            np.testing.assert_allclose(out[key][i, :n], expected[i], rtol=0, atol=1e-6)
            assert not out[key][i, n:].any(), f"{key}: padded positions are zero"


def test_default_signature(module, model):
    out = module.signatures["default"](TEXTS)
    assert set(out) == KEYS
    check_against_model(out, model, [t.split() for t in TEXTS], 6)
    assert not out["default"][2].any()  # the empty string: zeros
    assert isinstance(out["elmo"].numpy(), np.ndarray)  # TF2 code calls .numpy()


def test_direct_call_and_tf1_keywords(module):
    direct = module(TEXTS)
    tf1 = module(TEXTS, signature="default", as_dict=True)
    for key in KEYS:
        np.testing.assert_array_equal(direct[key], tf1[key])
    np.testing.assert_array_equal(module(np.array(TEXTS, dtype=object), as_dict=False), direct["default"])
    bytes_in = module.signatures["default"](np.array([t.encode() for t in TEXTS]))
    np.testing.assert_array_equal(bytes_in["elmo"], direct["elmo"])


def test_tokens_signature(module, model):
    tokens = [["the", "cat", "sat", "", ""], ["a", "dog", "", "", ""], ["", "", "", "", ""]]
    out = module.signatures["tokens"](tokens=tokens, sequence_len=[3, 2, 0])
    check_against_model(out, model, [["the", "cat", "sat"], ["a", "dog"], []], 5)
    again = module(inputs={"tokens": tokens, "sequence_len": [3, 2, 0]}, signature="tokens", as_dict=True)
    np.testing.assert_array_equal(again["elmo"], out["elmo"])
    with pytest.raises(elmo.InvalidArgumentError, match="sequence_len"):
        module.signatures["tokens"](tokens=tokens, sequence_len=[6, 2, 0])
    with pytest.raises(elmo.InvalidArgumentError, match="unknown signature"):
        module(TEXTS, signature="elmo")


def test_a_tfhub_module_directory_uses_its_own_mix():
    if not os.path.isdir(TFHUB_FIXTURE):
        pytest.skip(f"{TFHUB_FIXTURE} not found (tests run from the libelmo repository)")
    with hub.load(os.path.join(TFHUB_FIXTURE, "module")) as module:
        weights, gamma, layer_norm = module.model.default_mix()
        import json
        with open(os.path.join(TFHUB_FIXTURE, "twin", "mix.json")) as f:
            mix = json.load(f)
        np.testing.assert_allclose(weights, mix["weights"], rtol=1e-6, atol=0)
        assert gamma == pytest.approx(mix["gamma"], rel=1e-6) and layer_norm is False
        out = module.signatures["default"](["hello world", "the bank"])
        check_against_model(out, module.model, [["hello", "world"], ["the", "bank"]], 2)


def test_every_output_comes_from_one_encoder_pass(fixture_dir):
    """The token-layer cache counts one lookup per distinct token (plus <S> and </S>) per
    encoder pass: a signature call makes exactly the lookups of one `all` pass."""
    sentences = [t.split() for t in TEXTS if t.split()]
    distinct = len({token for s in sentences for token in s})
    with hub.load(fixture_dir) as module:
        module(TEXTS)
        stats = module.model.cache_stats()
    assert stats["hits"] + stats["misses"] == distinct + 2
    with elmo.Model(fixture_dir) as model:
        model.embed(sentences, "all")
        assert model.cache_stats() == stats


def test_lstm_outputs2_match_bilm_tf(module, fixture_sentences, fixture_dir):
    """The fixture's first batch (bilm-tf, stateless start) through the tokens signature."""
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the fixture outputs")
    sentences = [fixture_sentences[k][0].split(" ") for k in range(3)]
    width = max(len(s) for s in sentences)
    tokens = [s + [""] * (width - len(s)) for s in sentences]
    out = module.signatures["tokens"](tokens=tokens, sequence_len=[len(s) for s in sentences])
    for k, s in enumerate(sentences):
        with h5py.File(os.path.join(fixture_dir, f"lm_embeddings_{k}.hdf5"), "r") as f:
            both = np.asarray(f["0"], dtype=np.float32)
        np.testing.assert_allclose(out["lstm_outputs2"][k, :len(s)], np.concatenate([both[0], both[1]], -1),
                                   rtol=0, atol=1e-6)
