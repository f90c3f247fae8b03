"""Every output layer's shape and values against an independent numpy computation from the
"all" output (TF Hub's definitions: word_emb, lstm_outputs<k>, elmo, default)."""

import numpy as np
import pytest

from conftest import LAYERS, OUTPUT_DIM, SENTENCES, TOKEN_DIM

ATOL = 2e-6


def softmax(w):
    e = np.exp(np.asarray(w, dtype=np.float64) - np.max(w))
    return e / e.sum()


def reference_mix(layers, weights=None, gamma=1.0, layer_norm=False):
    """gamma * sum_k softmax(w)_k * layer_k, with per-sentence layer normalisation if asked."""
    layers = np.asarray(layers, dtype=np.float64)
    weights = np.zeros(layers.shape[0]) if weights is None else weights
    s = softmax(weights)
    total = np.zeros(layers.shape[1:])
    for k in range(layers.shape[0]):
        layer = layers[k]
        if layer_norm:
            layer = (layer - layer.mean()) / np.sqrt(layer.var() + 1e-12)
        total += s[k] * layer
    return gamma * total


@pytest.fixture(scope="module")
def all_layers(model):
    return model.embed(SENTENCES, "all")


def test_all_layers_shape_and_type(model, all_layers):
    assert len(all_layers) == len(SENTENCES)
    for text, a in zip(SENTENCES, all_layers):
        assert a.shape == (LAYERS, len(text.split()), OUTPUT_DIM)
        assert a.dtype == np.float32
        assert a.flags.c_contiguous
        assert np.isfinite(a).all()
    assert (model.token_dim, model.output_dim, model.output_layer_count, model.lstm_layer_count) == \
        (TOKEN_DIM, OUTPUT_DIM, LAYERS, LAYERS - 1)
    assert model.output_names == ["all", "word_emb", "lstm_outputs1", "lstm_outputs2", "elmo", "default"]


def test_word_emb_is_the_token_layer(model, all_layers):
    for a, w in zip(all_layers, model.embed(SENTENCES, "word_emb")):
        assert w.shape == (a.shape[1], TOKEN_DIM)
        np.testing.assert_array_equal(w, a[0, :, :TOKEN_DIM])
        # bilm-tf's layer 0 is the token layer repeated for both directions.
        np.testing.assert_array_equal(a[0, :, TOKEN_DIM:], a[0, :, :TOKEN_DIM])


@pytest.mark.parametrize("k", [1, 2])
def test_lstm_outputs_are_the_lstm_layers(model, all_layers, k):
    for a, h in zip(all_layers, model.embed(SENTENCES, f"lstm_outputs{k}")):
        assert h.shape == (a.shape[1], OUTPUT_DIM)
        np.testing.assert_array_equal(h, a[k])


def test_elmo_is_the_models_mix(model, all_layers):
    for a, e in zip(all_layers, model.embed(SENTENCES, "elmo")):
        assert e.shape == (a.shape[1], OUTPUT_DIM)
        np.testing.assert_allclose(e, reference_mix(a), rtol=0, atol=ATOL)


MIXES = [
    dict(mix_weights=[0.5, -1.0, 2.0]),
    dict(mix_weights=[0.0, 0.0, 0.0], gamma=2.5),
    dict(mix_weights=[1.0, 0.3, -0.7], gamma=0.5, layer_norm=True),
    dict(mix_weights=[10.0, 0.0, 0.0], layer_norm=False),
]


@pytest.mark.parametrize("mix", MIXES)
def test_elmo_with_a_custom_mix(model, all_layers, mix):
    reference = dict(weights=mix["mix_weights"], gamma=mix.get("gamma", 1.0), layer_norm=mix.get("layer_norm", False))
    for a, e in zip(all_layers, model.embed(SENTENCES, "elmo", **mix)):
        np.testing.assert_allclose(e, reference_mix(a, **reference), rtol=0, atol=ATOL * 4)


@pytest.mark.parametrize("mix", [dict()] + MIXES)
def test_default_is_the_mean_of_elmo_over_tokens(model, all_layers, mix):
    reference = dict(weights=mix.get("mix_weights"), gamma=mix.get("gamma", 1.0),
                     layer_norm=mix.get("layer_norm", False))
    for a, d in zip(all_layers, model.embed(SENTENCES, "default", **mix)):
        assert d.shape == (OUTPUT_DIM,)
        np.testing.assert_allclose(d, reference_mix(a, **reference).mean(axis=0), rtol=0, atol=ATOL * 4)


def test_layer_norm_uses_each_sentences_own_statistics(model):
    """A sentence's layer-normalised mix does not depend on its batch neighbours."""
    mix = dict(mix_weights=[0.2, 0.1, 0.3], layer_norm=True)
    alone = model.embed([SENTENCES[0]], "elmo", **mix)[0]
    together = model.embed(SENTENCES, "elmo", **mix)[0]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)


@pytest.mark.parametrize("output,shape", [
    ("all", (LAYERS, None, OUTPUT_DIM)), ("word_emb", (None, TOKEN_DIM)), ("lstm_outputs1", (None, OUTPUT_DIM)),
    ("lstm_outputs2", (None, OUTPUT_DIM)), ("elmo", (None, OUTPUT_DIM)), ("default", (OUTPUT_DIM,)),
])
def test_padded_batches(model, output, shape):
    arrays = model.embed(SENTENCES, output)
    padded, lengths = model.embed(SENTENCES, output, padded=True)
    longest = max(len(t.split()) for t in SENTENCES)
    assert lengths.tolist() == [len(t.split()) for t in SENTENCES]
    assert padded.dtype == np.float32
    assert padded.shape == (len(SENTENCES),) + tuple(longest if d is None else d for d in shape)
    for i, a in enumerate(arrays):
        n = lengths[i]
        if output == "default":
            np.testing.assert_array_equal(padded[i], a)
        elif output == "all":
            np.testing.assert_array_equal(padded[i, :, :n], a)
            assert not padded[i, :, n:].any()
        else:
            np.testing.assert_array_equal(padded[i, :n], a)
            assert not padded[i, n:].any()


def test_tokens_and_texts_give_the_same_vectors(model):
    tokens = [t.split() for t in SENTENCES]
    for a, b in zip(model.embed(SENTENCES, "all"), model.embed(tokens, "all")):
        np.testing.assert_array_equal(a, b)


def test_texts_are_split_like_str_split(model):
    text = "  The\tbank\n of\u3000the   river .\r\n"
    (from_text,) = model.embed([text], "all")
    (from_tokens,) = model.embed([text.split()], "all")
    assert from_text.shape[1] == len(text.split()) == 6
    np.testing.assert_array_equal(from_text, from_tokens)


def test_tuples_bytes_and_numpy_strings_are_accepted(model):
    reference = model.embed([["A", "bank"]], "elmo")[0]
    np.testing.assert_array_equal(model.embed((("A", "bank"),), "elmo")[0], reference)
    np.testing.assert_array_equal(model.embed([[b"A", b"bank"]], "elmo")[0], reference)
    np.testing.assert_array_equal(model.embed(np.array(["A bank"]), "elmo")[0], reference)
    np.testing.assert_array_equal(model.embed([np.array(["A", "bank"])], "elmo")[0], reference)
    np.testing.assert_array_equal(model.embed((t for t in ["A bank"]), "elmo")[0], reference)


def test_stateless_results_do_not_depend_on_the_batch(model, all_layers):
    for text, a in zip(SENTENCES, all_layers):
        np.testing.assert_allclose(model.embed([text], "all")[0], a, rtol=0, atol=1e-6)
