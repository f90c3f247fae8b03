"""ELMoForManyLangs models through the Python binding: `elmo.Model(dir)` on the fixture's model
directory gives the package's own outputs (reference.npz) within 1e-4 for every layer of every
sentence, word and character ids included; the native file round trip is bit-identical.
Skips when the fixture (../shared/fixtures/elmoformanylangs or $ELMO_MANYLANGS_FIXTURE) is absent."""

import json
import os

import numpy as np
import pytest

import elmo
from conftest import REPOSITORY

FIXTURE = os.environ.get("ELMO_MANYLANGS_FIXTURE") or os.path.normpath(
    os.path.join(REPOSITORY, "..", "shared", "fixtures", "elmoformanylangs"))
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def reference():
    if not os.path.isfile(os.path.join(FIXTURE, "reference.npz")):
        pytest.skip(f"ELMoForManyLangs fixture not found in {FIXTURE} (set ELMO_MANYLANGS_FIXTURE)")
    with open(os.path.join(FIXTURE, "reference.json"), encoding="utf-8") as f:
        sentences = [s["tokens"] for s in json.load(f)["sentences"]]
    with np.load(os.path.join(FIXTURE, "reference.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return sentences, arrays


@pytest.fixture(scope="module")
def model(reference):
    with elmo.Model(os.path.join(FIXTURE, "model")) as m:
        yield m


def test_dimensions(model):
    assert (model.output_layer_count, model.output_dim, model.token_dim) == (3, 64, 32)
    assert model.output_names == ["all", "word_emb", "lstm_outputs1", "lstm_outputs2", "elmo", "default"]


def test_every_layer_matches_the_package(model, reference):
    sentences, arrays = reference
    usable = [(i, s) for i, s in enumerate(sentences) if "" not in s]
    assert len(usable) >= 70
    layers = model.embed([s for _, s in usable], "all")
    means = model.embed([s for _, s in usable], "elmo")
    first = model.embed([s for _, s in usable], "lstm_outputs1")
    second = model.embed([s for _, s in usable], "lstm_outputs2")
    word = model.embed([s for _, s in usable], "word_emb")
    sentence = model.embed([s for _, s in usable], "default")
    worst = 0.0
    for k, (i, _) in enumerate(usable):
        key = f"s{i:04d}"
        assert layers[k].shape == arrays["L-2_" + key].shape
        for ours, theirs in [(layers[k], arrays["L-2_" + key]), (means[k], arrays["L-1_" + key]),
                             (word[k], arrays["L0_" + key][:, :32]), (first[k], arrays["L1_" + key]),
                             (second[k], arrays["L2_" + key])]:
            worst = max(worst, float(np.max(np.abs(ours - theirs))))
        # `default` is the token mean of the package's -1 output.
        worst = max(worst, float(np.max(np.abs(sentence[k] - arrays["L-1_" + key].mean(axis=0)))))
    assert worst < TOLERANCE, worst


def test_batch_independent_and_raw_text(model, reference):
    sentences, _ = reference
    batch = model.embed(sentences[:12], "all")
    for k in range(12):
        assert np.array_equal(model.embed([sentences[k]], "all")[0], batch[k])
    # Raw text is split on whitespace as str.split() splits it.
    assert np.array_equal(model.embed([" ".join(sentences[3])], "all")[0], batch[3])


def test_empty_token_is_refused(model, reference):
    sentences, _ = reference
    with_empty = next(s for s in sentences if "" in s)
    with pytest.raises(elmo.InvalidInputError):
        model.embed([with_empty])


def test_native_round_trip_is_bit_identical(model, reference, tmp_path):
    sentences, _ = reference
    usable = [s for s in sentences if "" not in s]
    path = str(tmp_path / "manylangs.elmo")
    model.save_native(path)
    with elmo.Model(path) as native:
        for a, b in zip(model.embed(usable, "all"), native.embed(usable, "all")):
            assert np.array_equal(a, b)


def test_bf16(reference, tmp_path):
    sentences, arrays = reference
    usable = [(i, s) for i, s in enumerate(sentences) if "" not in s][:20]
    with elmo.Model(os.path.join(FIXTURE, "model"), precision="bf16") as m:
        assert m.precision == "bf16"
        out = m.embed([s for _, s in usable], "all")
    worst = max(float(np.max(np.abs(o - arrays[f"L-2_s{i:04d}"]))) for o, (i, _) in zip(out, usable))
    assert 0 < worst < 0.1


def test_malformed_directory(tmp_path):
    if not os.path.isdir(os.path.join(FIXTURE, "model")):
        pytest.skip("ELMoForManyLangs fixture not found")
    d = tmp_path / "model"
    d.mkdir()
    for name in os.listdir(os.path.join(FIXTURE, "model")):
        with open(os.path.join(FIXTURE, "model", name), "rb") as f:
            (d / name).write_bytes(f.read())
    (d / "encoder.pkl").write_bytes((d / "encoder.pkl").read_bytes()[:1000])
    with pytest.raises(elmo.ElmoError, match="encoder.pkl"):
        elmo.Model(str(d))


@pytest.mark.parametrize("zip_format", [True, False])
def test_state_dicts_saved_by_current_torch(model, reference, tmp_path, zip_format):
    """The fixture's state dicts re-saved by the installed torch (zip container, or the legacy
    one with _use_new_zipfile_serialization=False) load to the same vectors, bit for bit.
    Needs torch (not installed by `make test-python`: pip install torch, CPU build)."""
    torch = pytest.importorskip("torch")
    sentences, _ = reference
    d = tmp_path / "model"
    d.mkdir()
    source = os.path.join(FIXTURE, "model")
    for name in os.listdir(source):
        if name.endswith(".pkl"):
            state = torch.load(os.path.join(source, name), map_location="cpu", weights_only=True)
            torch.save(state, str(d / name), _use_new_zipfile_serialization=zip_format)
        else:
            with open(os.path.join(source, name), "rb") as f:
                (d / name).write_bytes(f.read())
    assert ((d / "encoder.pkl").read_bytes()[:2] == b"PK") == zip_format
    usable = [s for s in sentences if "" not in s]
    with elmo.Model(str(d)) as resaved:
        for a, b in zip(model.embed(usable, "all"), resaved.embed(usable, "all")):
            assert np.array_equal(a, b)
