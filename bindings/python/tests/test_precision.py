"""elmo.Model(path, precision=...): bf16 weights close to fp32, the bf16 native file, errors."""

import os

import numpy as np
import pytest

import elmo

from conftest import SENTENCES


def cosines(a, b):
    """Cosine similarity of matching rows (the last axis is the vector)."""
    a = a.reshape(-1, a.shape[-1]).astype(np.float64)
    b = b.reshape(-1, b.shape[-1]).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_default_is_fp32(model):
    assert model.precision == "fp32"


def test_bf16_is_close_to_fp32_and_not_equal(model, fixture_dir):
    with elmo.Model(fixture_dir, precision="bf16") as bf16:
        assert bf16.precision == "bf16"
        for output in ("all", "elmo", "default"):
            for a, b in zip(model.embed(SENTENCES, output), bf16.embed(SENTENCES, output)):
                assert a.shape == b.shape
                assert cosines(a, b).min() > 0.999, output
        a, b = model.embed(SENTENCES), bf16.embed(SENTENCES)
        assert any(not np.array_equal(x, y) for x, y in zip(a, b))


def test_bf16_native_file(model, fixture_dir, tmp_path):
    fp32_path, bf16_path = tmp_path / "fp32.elmo", tmp_path / "bf16.elmo"
    model.save_native(fp32_path)
    with elmo.Model(fixture_dir, precision="bf16") as bf16:
        expected = bf16.embed(SENTENCES)
        bf16.save_native(bf16_path)
    assert os.path.getsize(bf16_path) < os.path.getsize(fp32_path)
    # Loaded as stored (bf16) or asked for bf16: the same bits as the model it was saved from.
    for precision in ("stored", "bf16"):
        with elmo.Model(bf16_path, precision=precision) as loaded:
            assert loaded.precision == "bf16"
            for x, y in zip(loaded.embed(SENTENCES), expected):
                np.testing.assert_array_equal(x, y)
    # The default widens the bf16 weights and computes in fp32: close, not the same bits.
    with elmo.Model(bf16_path) as widened:
        assert widened.precision == "fp32"
        for x, y in zip(widened.embed(SENTENCES), expected):
            assert cosines(x, y).min() > 0.999
    with elmo.Model(fixture_dir, precision="stored") as stored:
        assert stored.precision == "fp32"


@pytest.mark.parametrize("value", ["fp16", "BF16", "", None, 1, b"bf16"])
def test_unknown_precision_is_refused(fixture_dir, value):
    with pytest.raises(elmo.InvalidArgumentError, match="precision"):
        elmo.Model(fixture_dir, precision=value)


def test_elmo2vec_takes_a_precision(fixture_dir, model):
    vectorizer = elmo.Elmo2Vec(fixture_dir, precision="bf16")
    assert vectorizer.model.precision == "bf16"
    reference = elmo.Elmo2Vec(fixture_dir)
    a = np.asarray(vectorizer.encode(SENTENCES[0]))
    b = np.asarray(reference.encode(SENTENCES[0]))
    assert cosines(a[None], b[None])[0] > 0.999


def test_int8_is_close_to_fp32_and_its_native_file_keeps_its_bits(model, fixture_dir, tmp_path):
    path = tmp_path / "int8.elmo"
    with elmo.Model(fixture_dir, precision="int8") as int8:
        assert int8.precision == "int8"
        for output in ("all", "elmo", "default"):
            for a, b in zip(model.embed(SENTENCES, output), int8.embed(SENTENCES, output)):
                assert a.shape == b.shape
                assert cosines(a, b).min() > 0.999, output
        expected = int8.embed(SENTENCES)
        assert any(not np.array_equal(x, y) for x, y in zip(model.embed(SENTENCES), expected))
        int8.save_native(path)
    with elmo.Model(path, precision="stored") as loaded:
        assert loaded.precision == "int8"
        for x, y in zip(loaded.embed(SENTENCES), expected):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_requested_layers_equal_the_all_layers_output(fixture_dir, precision):
    # word_emb runs no LSTM and lstm_outputs1 only the first layer: the same bits as the
    # corresponding layers of the all-layers output.
    with elmo.Model(fixture_dir, precision=precision) as m:
        everything = m.embed(SENTENCES, "all")
        for got, layers in zip(m.embed(SENTENCES, "word_emb"), everything):
            np.testing.assert_array_equal(got, layers[0][:, :got.shape[1]])
        for got, layers in zip(m.embed(SENTENCES, "lstm_outputs1"), everything):
            np.testing.assert_array_equal(got, layers[1])
