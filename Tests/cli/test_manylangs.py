"""The `elmo` command on an ELMoForManyLangs model directory: `info`, `embed` (every layer within
1e-4 of the package's own outputs) and `convert` to the native file (bit-identical results, bf16
too). Skips when ../shared/fixtures/elmoformanylangs (or $ELMO_MANYLANGS_FIXTURE) is absent."""
import json
import os

import numpy as np
import pytest

from conftest import REPO

FIXTURE = os.environ.get("ELMO_MANYLANGS_FIXTURE") or str(REPO.parent / "shared/fixtures/elmoformanylangs")


@pytest.fixture(scope="module")
def reference():
    if not os.path.isfile(os.path.join(FIXTURE, "reference.npz")):
        pytest.skip(f"ELMoForManyLangs fixture not found in {FIXTURE} (set ELMO_MANYLANGS_FIXTURE)")
    with open(os.path.join(FIXTURE, "reference.json"), encoding="utf-8") as f:
        sentences = [s["tokens"] for s in json.load(f)["sentences"]]
    with np.load(os.path.join(FIXTURE, "reference.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files}
    # A line is split on whitespace: sentences whose tokens hold whitespace (or are empty)
    # cannot be written as lines.
    lines = [(i, s) for i, s in enumerate(sentences) if all(t and t.split() == [t] for t in s)]
    return lines, arrays


def model_dir():
    return os.path.join(FIXTURE, "model")


def embed_npz(run, model, lines, tmp_path, name, *extra):
    text = tmp_path / f"{name}.txt"
    text.write_text("".join(" ".join(s) + "\n" for _, s in lines), encoding="utf-8")
    out = tmp_path / f"{name}.npz"
    r = run("embed", text, out, "--model", model, "--all", "--quiet", *extra)
    assert r.returncode == 0, r.stderr
    with np.load(out) as npz:
        return [npz[str(k)] for k in range(len(lines))]


def test_info(run, reference):
    r = run("info", model_dir())
    assert r.returncode == 0, r.stderr
    assert "ELMoForManyLangs" in r.stdout and "117 characters (char.dic)" in r.stdout and "2,004 words" in r.stdout
    j = run("info", model_dir(), "--json")
    assert j.returncode == 0, j.stderr
    info = json.loads(j.stdout)
    assert info["manylangs"] == {"n_characters": 117, "n_words": 2004, "word_dim": 16}
    assert [os.path.basename(f["path"]) for f in info["files"]] == [
        "config.json", "cnn_8_16_32_128_sample.json", "char.dic", "word.dic", "token_embedder.pkl", "encoder.pkl"]
    assert info["outputs"]["all"] == [3, None, 64]


def test_embed_matches_the_package(run, reference, tmp_path):
    lines, arrays = reference
    assert len(lines) >= 70
    got = embed_npz(run, model_dir(), lines, tmp_path, "dir")
    worst = max(float(np.max(np.abs(g - arrays[f"L-2_s{i:04d}"]))) for g, (i, _) in zip(got, lines))
    assert worst < 1e-4, worst


def test_convert_round_trip(run, reference, tmp_path):
    lines, _ = reference
    out = tmp_path / "manylangs.elmo"
    r = run("convert", model_dir(), out)
    assert r.returncode == 0, r.stderr
    assert "bit-identical" in r.stdout
    source = embed_npz(run, model_dir(), lines, tmp_path, "source")
    native = embed_npz(run, out, lines, tmp_path, "native")
    assert all(np.array_equal(a, b) for a, b in zip(source, native))
    bf16 = tmp_path / "manylangs-bf16.elmo"
    r = run("convert", model_dir(), bf16, "--precision", "bf16")
    assert r.returncode == 0, r.stderr
    assert bf16.stat().st_size < out.stat().st_size
    halved = embed_npz(run, bf16, lines, tmp_path, "bf16")
    # bf16 rounding (random weights, no exact reference): close in direction, not identical.
    cosines = [float(np.dot(a.ravel(), b.ravel()) / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(source, halved)]
    assert min(cosines) > 0.99 and any(not np.array_equal(a, b) for a, b in zip(source, halved))


def test_malformed_directory(run, reference, tmp_path):
    d = tmp_path / "broken"
    d.mkdir()
    for name in os.listdir(model_dir()):
        (d / name).write_bytes(open(os.path.join(model_dir(), name), "rb").read())
    (d / "char.dic").write_text("a\t0\nb\t0\n", encoding="utf-8")
    r = run("info", d)
    assert r.returncode == 1
    assert "char.dic:2: id 0 is used twice" in r.stderr
