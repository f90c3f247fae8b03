"""`--precision` of `elmo embed`, `convert`, `demo` and `info`: bf16 weights against fp32."""
import json

import numpy as np

from conftest import write_lines


def embed_npz(run, tmp_path, inp, model, name, *flags):
    """Every sentence's all-layers array, from `elmo embed ... --quiet` into an npz."""
    out = tmp_path / f"{name}.npz"
    r = run("embed", inp, out, "-m", model, "--quiet", *flags)
    assert r.returncode == 0, r.stderr
    with np.load(out) as z:
        return {k: z[k] for k in z.files if k != "sentence_to_index"}


def safetensors_header(path):
    """The tensors of a safetensors file: name -> {dtype, shape, data_offsets}."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    return header


def cosines(a, b):
    """Cosine similarity of each token vector (last axis) of two arrays of one shape."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_bf16_embeds_close_to_fp32_and_the_bf16_file_gives_the_same_bits(run, tmp_path, fixture_dir, fixture_sentences):
    inp = write_lines(tmp_path / "in.txt", [s for k in range(3) for s in fixture_sentences[k]])
    fp32 = embed_npz(run, tmp_path, inp, fixture_dir, "fp32")
    assert embed_npz(run, tmp_path, inp, fixture_dir, "fp32-explicit", "--precision", "fp32").keys() == fp32.keys()
    bf16 = embed_npz(run, tmp_path, inp, fixture_dir, "bf16", "--precision", "bf16")
    assert bf16.keys() == fp32.keys()
    every = []
    for key in fp32:
        assert bf16[key].shape == fp32[key].shape and bf16[key].dtype == np.float32
        every.append(cosines(fp32[key], bf16[key]).ravel())
    every = np.concatenate(every)
    # Rounded weights change the numbers (this is not fp32 under another name) but keep
    # every token vector of every layer close.
    assert not all(np.array_equal(fp32[k], bf16[k]) for k in fp32)
    assert every.mean() >= 0.999 and every.min() >= 0.99, (every.mean(), every.min())

    # A bf16 native file: about half the fp32 one, described as bf16, and embedding with
    # its stored precision (the default) gives exactly the bits of converting at load.
    native32, native16 = tmp_path / "fp32.elmo", tmp_path / "bf16.elmo"
    r = run("convert", fixture_dir, native32, "--quiet")
    assert r.returncode == 0, r.stderr
    r = run("convert", fixture_dir, native16, "--precision", "bf16")
    assert r.returncode == 0, r.stderr
    assert "bit-identical" in r.stdout and "cosine similarity to fp32" in r.stdout
    worst = float(r.stdout.split("is at least")[1].split()[0])
    assert 0.99 <= worst < 1.0
    # The same tensors; the packed matrices in BF16 at half the bytes, the rest (char-CNN
    # tables, biases: most of this small model) unchanged.
    h32, h16 = safetensors_header(native32), safetensors_header(native16)
    assert h32.keys() == h16.keys()
    halved = 0
    for name, t in h16.items():
        size16, size32 = t["data_offsets"][1] - t["data_offsets"][0], h32[name]["data_offsets"][1] - h32[name]["data_offsets"][0]
        if t["dtype"] == "BF16":
            assert h32[name]["dtype"] == "F32" and 2 * size16 == size32, name
            halved += size16
        else:
            assert t["dtype"] == h32[name]["dtype"] == "F32" and size16 == size32, name
    assert halved > 0
    data16, data32 = (sum(t["data_offsets"][1] - t["data_offsets"][0] for t in h.values()) for h in (h16, h32))
    assert data32 - data16 == halved
    assert abs((native32.stat().st_size - native16.stat().st_size) - halved) < 4096  # headers differ slightly
    stored = embed_npz(run, tmp_path, inp, native16, "stored")
    for key in fp32:
        np.testing.assert_array_equal(stored[key], bf16[key])
    info = run("info", native16, "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["precision"] == "bf16"
    assert json.loads(run("info", native32, "--json").stdout)["precision"] == "fp32"
    assert json.loads(run("info", fixture_dir, "--json").stdout)["precision"] == "fp32"
    text = run("info", native16)
    assert text.returncode == 0 and "precision: bf16" in " ".join(text.stdout.split())

    # The bf16 file read as fp32: the rounded weights widened exactly, computed in fp32
    # (neither the original fp32 results nor the bf16 ones).
    widened = embed_npz(run, tmp_path, inp, native16, "widened", "--precision", "fp32")
    assert not all(np.array_equal(widened[k], bf16[k]) for k in fp32)
    assert not all(np.array_equal(widened[k], fp32[k]) for k in fp32)
    assert min(cosines(fp32[k], widened[k]).min() for k in fp32) >= 0.99


def test_demo_at_bf16_names_its_precision(run, fixture_dir):
    r = run("demo", "--model", fixture_dir, "--precision", "bf16")
    assert r.returncode == 0, r.stderr
    assert "layers, bf16" in r.stdout
    r = run("demo", "--model", fixture_dir)
    assert r.returncode == 0, r.stderr
    assert "layers, fp32" in r.stdout


def test_an_unknown_precision_is_a_usage_error(run, fixture_dir, tmp_path):
    inp = write_lines(tmp_path / "in.txt", ["a b"])
    for command in (("embed", inp, tmp_path / "o.npz", "-m", fixture_dir), ("demo", "--model", fixture_dir),
                    ("convert", fixture_dir, tmp_path / "x.elmo")):
        r = run(*command, "--precision", "fp16")
        assert r.returncode == 2, (command, r.stderr)
        assert "fp16" in r.stderr
    assert not (tmp_path / "x.elmo").exists()
    r = run("embed", "--help")
    assert r.returncode == 0 and "--precision" in r.stdout and "bf16" in r.stdout
