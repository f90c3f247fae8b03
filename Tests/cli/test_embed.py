"""`elmo embed` against the bilm-tf fixture and `allennlp elmo`'s output layout."""
import json

import h5py
import numpy as np
import pytest

from conftest import write_lines

TOL = 1e-5


@pytest.fixture
def fixture_input(tmp_path, fixture_sentences):
    """The fixture's 30 sentences, one per line: sentences[k][i] is line 10 * k + i."""
    lines = [s for k in range(3) for s in fixture_sentences[k]]
    return write_lines(tmp_path / "sentences.txt", lines), lines


def allennlp_sentence_to_index(lines):
    """The dict `allennlp elmo` builds: stripped line -> str(line index), last index wins."""
    d = {}
    for i, line in enumerate(lines):
        d[line.strip()] = str(i)
    return d


def top_layer_as_fixture(all_layers):
    """Our (layers, T, 32) all-layers array's top layer as the fixture's (2, T, 16)."""
    top = all_layers[-1]
    return np.stack([top[:, :16], top[:, 16:]])


def test_hdf5_has_allennlps_layout_and_the_fixtures_values(run, tmp_path, fixture_dir, fixture_input):
    inp, lines = fixture_input
    out = tmp_path / "out.hdf5"
    r = run("embed", inp, out, "-m", fixture_dir)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        # allennlp elmo --all: a dataset per line keyed by its index, plus sentence_to_index.
        assert sorted(f.keys()) == sorted([str(i) for i in range(30)] + ["sentence_to_index"])
        for i, line in enumerate(lines):
            d = f[str(i)]
            assert d.dtype == np.float32
            assert d.shape == (3, len(line.split()), 32)
        sti = f["sentence_to_index"]
        assert sti.shape == (1,)
        info = h5py.check_string_dtype(sti.dtype)
        assert info.encoding == "utf-8" and info.length is None  # variable-length UTF-8
        assert json.loads(sti[0]) == allennlp_sentence_to_index(lines)
        assert json.loads(sti.asstr()[0]) == allennlp_sentence_to_index(lines)
        # Top layer of sentences[k][0] (line 10k) = the fixture's stateless batch 0.
        for k in range(3):
            with h5py.File(fixture_dir / f"lm_embeddings_{k}.hdf5", "r") as e:
                expected = e["0"][...]
            ours = top_layer_as_fixture(f[str(10 * k)][...])
            assert ours.shape == expected.shape
            assert np.abs(ours - expected).max() < TOL


def test_npz_and_jsonl_hold_the_same_numbers(run, tmp_path, fixture_dir, fixture_input):
    inp, lines = fixture_input
    for name in ("out.hdf5", "out.npz", "out.jsonl"):
        r = run("embed", inp, tmp_path / name, "-m", fixture_dir, "--batch-size", "7")
        assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "out.hdf5", "r") as f:
        ref = {str(i): f[str(i)][...] for i in range(30)}
        ref_sti = json.loads(f["sentence_to_index"][0])
    with np.load(tmp_path / "out.npz") as z:
        assert sorted(z.files) == sorted(list(ref) + ["sentence_to_index"])
        for key, value in ref.items():
            assert z[key].dtype == np.float32
            np.testing.assert_array_equal(z[key], value)
        assert z["sentence_to_index"].shape == (1,)
        assert json.loads(z["sentence_to_index"][0]) == ref_sti
    rows = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(30))
    for r, line in zip(rows, lines):
        assert r["sentence"] == line
        assert r["tokens"] == line.split()
        arr = np.array(r["embedding"], dtype=np.float32).reshape(r["shape"])
        np.testing.assert_array_equal(arr, ref[str(r["index"])])  # shortest round-trip decimals: exact
    # The fixture check on the other formats too.
    with h5py.File(fixture_dir / "lm_embeddings_1.hdf5", "r") as e:
        expected = e["0"][...]
    with np.load(tmp_path / "out.npz") as z:
        assert np.abs(top_layer_as_fixture(z["10"]) - expected).max() < TOL


def test_layer_choices(run, tmp_path, fixture_dir, fixture_input):
    inp, lines = fixture_input
    assert run("embed", inp, tmp_path / "all.npz", "-m", fixture_dir).returncode == 0
    choices = {
        "top": ["--top"], "average": ["--average"], "all": ["--all"],
        "word_emb": ["--output-layer", "word_emb"], "lstm1": ["--output-layer", "lstm_outputs1"],
        "lstm2": ["--output-layer", "lstm_outputs2"], "elmo": ["--output-layer", "elmo"],
        "default": ["--output-layer", "default"],
    }
    for name, flags in choices.items():
        r = run("embed", inp, tmp_path / f"{name}.npz", "-m", fixture_dir, *flags)
        assert r.returncode == 0, r.stderr
    z = {name: np.load(tmp_path / f"{name}.npz") for name in ["all", *choices]}
    for i in range(30):
        a = z["all"][str(i)].astype(np.float64)
        T = len(lines[i].split())
        np.testing.assert_array_equal(z["all"][str(i)], z["all"][str(i)])
        np.testing.assert_array_equal(z["top"][str(i)], a[2].astype(np.float32))  # allennlp: embeddings[-1]
        np.testing.assert_allclose(z["average"][str(i)], a.mean(axis=0), atol=1e-6)  # numpy.average(axis=0)
        assert z["word_emb"][str(i)].shape == (T, 16)
        np.testing.assert_array_equal(z["word_emb"][str(i)], a[0][:, :16].astype(np.float32))
        np.testing.assert_array_equal(a[0][:, :16], a[0][:, 16:])  # layer 0 is the token layer twice
        np.testing.assert_array_equal(z["lstm1"][str(i)], a[1].astype(np.float32))
        np.testing.assert_array_equal(z["lstm2"][str(i)], a[2].astype(np.float32))
        np.testing.assert_allclose(z["elmo"][str(i)], a.mean(axis=0), atol=1e-6)  # the model's default mix: equal weights
        assert z["default"][str(i)].shape == (32,)
        np.testing.assert_allclose(z["default"][str(i)], a.mean(axis=0).mean(axis=0), atol=1e-6)


def test_results_do_not_depend_on_batch_size_or_threads(run, tmp_path, fixture_dir, fixture_input):
    inp, _ = fixture_input
    r1 = run("embed", inp, tmp_path / "a.npz", "-m", fixture_dir, "--batch-size", "1", "--threads", "1")
    r2 = run("embed", inp, tmp_path / "b.npz", "-m", fixture_dir, "--batch-size", "4", "--threads", "3")
    assert r1.returncode == 0 and r2.returncode == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for key in a.files:
        np.testing.assert_allclose(a[key], b[key], atol=1e-6) if key != "sentence_to_index" else None
    assert a["sentence_to_index"][0] == b["sentence_to_index"][0]


def test_empty_lines_are_kept_with_zero_tokens(run, tmp_path, fixture_dir):
    lines = ["The cat sat .", "", "   \t ", "A dog ."]
    inp = write_lines(tmp_path / "in.txt", lines)
    for fmt in ("hdf5", "npz", "jsonl"):
        assert run("embed", inp, tmp_path / f"o.{fmt}", "-m", fixture_dir).returncode == 0
        assert run("embed", inp, tmp_path / f"d.{fmt}", "-m", fixture_dir, "--output-layer", "default").returncode == 0
    with h5py.File(tmp_path / "o.hdf5", "r") as f:
        assert [f[str(i)].shape for i in range(4)] == [(3, 4, 32), (3, 0, 32), (3, 0, 32), (3, 3, 32)]
        assert json.loads(f["sentence_to_index"][0]) == {"The cat sat .": "0", "": "2", "A dog .": "3"}
    with h5py.File(tmp_path / "d.hdf5", "r") as f:
        np.testing.assert_array_equal(f["1"][...], np.zeros(32, np.float32))  # the mean of no tokens: zeros
    with np.load(tmp_path / "o.npz") as z:
        assert z["1"].shape == (3, 0, 32) and z["2"].shape == (3, 0, 32)
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert rows[1]["shape"] == [3, 0, 32] and rows[1]["embedding"] == [[], [], []] and rows[1]["tokens"] == []
    assert np.array(rows[2]["embedding"], dtype=np.float32).reshape(rows[2]["shape"]).shape == (3, 0, 32)
    rows = [json.loads(l) for l in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert rows[1]["embedding"] == [0.0] * 32


def test_duplicate_sentences_map_as_allennlp_maps_them(run, tmp_path, fixture_dir):
    lines = ["b a", "x", "b a", "  x  ", "y", "b a"]
    inp = write_lines(tmp_path / "in.txt", lines)
    assert run("embed", inp, tmp_path / "o.hdf5", "-m", fixture_dir).returncode == 0
    with h5py.File(tmp_path / "o.hdf5", "r") as f:
        assert len([k for k in f.keys() if k != "sentence_to_index"]) == 6  # one dataset per line
        got = json.loads(f["sentence_to_index"][0])
    want = allennlp_sentence_to_index(lines)
    assert got == want and list(got) == list(want)  # same values, same order
    np.testing.assert_array_equal(h5py.File(tmp_path / "o.hdf5", "r")["0"][...], h5py.File(tmp_path / "o.hdf5", "r")["5"][...])


def test_sentence_keys(run, tmp_path, fixture_dir):
    lines = ["the cat", "a / b", "ünïcödé words"]
    inp = write_lines(tmp_path / "in.txt", lines)
    r = run("embed", inp, tmp_path / "o.hdf5", "-m", fixture_dir, "--use-sentence-keys")
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "o.hdf5", "r") as f:
        assert "sentence_to_index" not in f  # as allennlp: no index with sentence keys
        assert f["the cat"].shape == (3, 2, 32)
        assert f["a / b"].shape == (3, 3, 32)  # h5py reads a '/' as a group separator, like allennlp's file
        assert f["ünïcödé words"].shape == (3, 2, 32)


@pytest.mark.parametrize("lines, line_no, fragment", [
    (["the cat", "dog", "the cat"], 3, "already a key"),
    (["the cat", "", "dog"], 2, "empty line cannot be an HDF5 key"),
])
def test_sentence_keys_refuse_duplicates_and_empty_lines(run, tmp_path, fixture_dir, lines, line_no, fragment):
    inp = write_lines(tmp_path / "in.txt", lines)
    r = run("embed", inp, tmp_path / "o.hdf5", "-m", fixture_dir, "--use-sentence-keys")
    assert r.returncode == 1
    assert f"{inp}:{line_no}: " in r.stderr and fragment in r.stderr
    assert not (tmp_path / "o.hdf5").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_forget_sentences(run, tmp_path, fixture_dir):
    inp = write_lines(tmp_path / "in.txt", ["secret words", "more"])
    for fmt in ("hdf5", "npz", "jsonl"):
        r = run("embed", inp, tmp_path / f"o.{fmt}", "-m", fixture_dir, "--forget-sentences")
        assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "o.hdf5", "r") as f:
        assert sorted(f.keys()) == ["0", "1"]
    with np.load(tmp_path / "o.npz") as z:
        assert sorted(z.files) == ["0", "1"]
    text = (tmp_path / "o.jsonl").read_text()
    assert "secret" not in text and '"tokens"' not in text


def test_stdin_and_stdout(run, tmp_path, fixture_dir, fixture_input):
    inp, lines = fixture_input
    r = run("embed", "-", "-", "-m", fixture_dir, "--top", input=inp.read_text())
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(rows) == 30
    with h5py.File(fixture_dir / "lm_embeddings_2.hdf5", "r") as e:
        expected = e["0"][...]
    top = np.array(rows[20]["embedding"], dtype=np.float32)
    assert np.abs(np.stack([top[:, :16], top[:, 16:]]) - expected).max() < TOL
    assert "<stdout>" in r.stderr  # the summary names where the output went


def test_line_endings_as_python_reads_them(run, tmp_path, fixture_dir):
    lines = ["The cat sat .", "", "A dog ."]
    outs = []
    for i, nl in enumerate(["\n", "\r\n", "\r"]):
        inp = tmp_path / f"in{i}.txt"
        inp.write_bytes(("\ufeff" if i == 1 else "").encode() + nl.join(lines).encode())  # no final newline; a BOM
        r = run("embed", inp, tmp_path / f"o{i}.jsonl", "-m", fixture_dir)
        assert r.returncode == 0, r.stderr
        outs.append((tmp_path / f"o{i}.jsonl").read_text())
    assert outs[0] == outs[1] == outs[2]
    assert len(outs[0].splitlines()) == 3


def test_invalid_line_stops_with_its_line_number(run, tmp_path, fixture_dir):
    inp = tmp_path / "in.txt"
    inp.write_bytes(b"good line\nstill good\nbad \xff byte\nlast\n")
    r = run("embed", inp, tmp_path / "o.hdf5", "-m", fixture_dir)
    assert r.returncode == 1
    assert f"{inp}:3: invalid UTF-8 at byte 5 of the line" in r.stderr
    assert not (tmp_path / "o.hdf5").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    r = run("embed", inp, tmp_path / "o.hdf5", "-m", fixture_dir, "--skip-invalid")
    assert r.returncode == 0, r.stderr
    assert f"warning: {inp}:3: invalid UTF-8" in r.stderr
    with h5py.File(tmp_path / "o.hdf5", "r") as f:
        assert [f[str(i)].shape[1] for i in range(4)] == [2, 2, 0, 1]


def test_overlong_line_is_reported(run, tmp_path, fixture_dir):
    inp = tmp_path / "in.txt"
    inp.write_bytes(b"short\n" + b"x" * (5 << 20) + b"\nafter\n")
    r = run("embed", inp, tmp_path / "o.jsonl", "-m", fixture_dir)
    assert r.returncode == 1 and f"{inp}:2: line of {5 << 20} bytes is longer than" in r.stderr
    r = run("embed", inp, tmp_path / "o.jsonl", "-m", fixture_dir, "--skip-invalid", "--forget-sentences")
    assert r.returncode == 0
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["shape"][1] for r in rows] == [1, 0, 1]


def test_model_given_as_weights_file_and_h5_output(run, tmp_path, fixture_dir):
    inp = write_lines(tmp_path / "in.txt", ["a b c"])
    r = run("embed", inp, tmp_path / "o.H5", "-m", fixture_dir / "lm_weights.hdf5")
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "o.H5", "r") as f:
        assert f["0"].shape == (3, 3, 32)


def test_interrupted_run_leaves_nothing_behind(elmo_bin, tmp_path, fixture_dir, fixture_sentences):
    import os
    import signal
    import subprocess
    import time

    lines = [s for k in range(3) for s in fixture_sentences[k]] * 5000  # long enough to interrupt
    inp = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out.hdf5"
    env = dict(os.environ, ELMO_CACHE_DIR=str(tmp_path / "cache"))
    p = subprocess.Popen([str(elmo_bin), "embed", str(inp), str(out), "-m", str(fixture_dir), "-q"], env=env,
                         stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not any(x.name.startswith(".out.hdf5.sentences") for x in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=60) == -signal.SIGINT  # ended by the signal, as a shell expects
    assert not out.exists()
    assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".")] == []
