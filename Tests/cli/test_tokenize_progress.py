"""`--tokenize` (1B Word Benchmark style) and the progress display on stderr."""
import json
import os
import pty
import subprocess

import pytest

from conftest import write_lines

CASES = [
    ("Don't stop, it's 3.14 U.S. dollars.", ["Do", "n't", "stop", ",", "it", "'s", "3.14", "U.S.", "dollars", "."]),
    ("(O'Brien's state-of-the-art work...)", ["(", "O'Brien", "'s", "state-of-the-art", "work", "...", ")"]),
    ('She said "we\'ll go" -- at 10:30, with 1,000 people!',
     ["She", "said", '"', "we", "'ll", "go", '"', "--", "at", "10:30", ",", "with", "1,000", "people", "!"]),
    ("I can't, you won\u2019t; e.g. this.", ["I", "ca", "n't", ",", "you", "wo", "n\u2019t", ";", "e.g.", "this", "."]),
    ("$5 for 20% off?!", ["$", "5", "for", "20", "%", "off", "?", "!"]),
    ("they're I'm you've he'd dogs' end", ["they", "'re", "I", "'m", "you", "'ve", "he", "'d", "dogs", "'", "end"]),
    ("already split tokens stay .", ["already", "split", "tokens", "stay", "."]),
]


def test_tokenize_rules(run, tmp_path, fixture_dir):
    inp = write_lines(tmp_path / "in.txt", [c[0] for c in CASES])
    r = run("embed", inp, tmp_path / "o.jsonl", "-m", fixture_dir, "--tokenize", "--output-layer", "word_emb")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    for row, (text, tokens) in zip(rows, CASES):
        assert row["sentence"] == text
        assert row["tokens"] == tokens, text
        assert row["shape"] == [len(tokens), 16]


def test_without_tokenize_tokens_are_pythons_split(run, tmp_path, fixture_dir):
    text = "Don't\u00a0stop,  it's\tfine."
    inp = write_lines(tmp_path / "in.txt", [text])
    r = run("embed", inp, tmp_path / "o.jsonl", "-m", fixture_dir)
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert row["tokens"] == text.split() == ["Don't", "stop,", "it's", "fine."]


def test_tokenized_vectors_equal_pretokenized_input(run, tmp_path, fixture_dir):
    """--tokenize on raw text gives what the same tokens give already split."""
    raw = write_lines(tmp_path / "raw.txt", [CASES[0][0]])
    split = write_lines(tmp_path / "split.txt", [" ".join(CASES[0][1])])
    assert run("embed", raw, tmp_path / "a.jsonl", "-m", fixture_dir, "--tokenize").returncode == 0
    assert run("embed", split, tmp_path / "b.jsonl", "-m", fixture_dir).returncode == 0
    a = json.loads((tmp_path / "a.jsonl").read_text())
    b = json.loads((tmp_path / "b.jsonl").read_text())
    assert a["embedding"] == b["embedding"]


@pytest.fixture
def many_lines(tmp_path, fixture_sentences):
    lines = [s for k in range(3) for s in fixture_sentences[k]] * 20
    return write_lines(tmp_path / "in.txt", lines)


def test_plain_progress_lines_when_stderr_is_not_a_terminal(run, tmp_path, fixture_dir, many_lines):
    r = run("embed", many_lines, tmp_path / "o.hdf5", "-m", fixture_dir, "--batch-size", "8", "--threads", "1",
            env={"ELMO_PROGRESS_INTERVAL": "0"})
    assert r.returncode == 0
    lines = r.stderr.splitlines()
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
    periodic = [l for l in lines if "tokens/s, ETA" in l]
    assert len(periodic) >= 5  # one per round of batches with a zero interval
    assert all(l.startswith("elmo embed: ") and "%" in l and "sentences" in l for l in periodic)
    assert lines[-1].startswith("elmo embed: 600 lines (") and lines[-1].endswith(f"-> {tmp_path / 'o.hdf5'}")


def test_quiet_prints_nothing(run, tmp_path, fixture_dir, many_lines):
    r = run("embed", many_lines, tmp_path / "o.hdf5", "-m", fixture_dir, "-q", env={"ELMO_PROGRESS_INTERVAL": "0"})
    assert r.returncode == 0 and r.stderr == ""


def test_progress_bar_on_a_terminal(elmo_bin, tmp_path, fixture_dir, many_lines):
    primary, secondary = pty.openpty()
    # A zero interval redraws after every batch: the whole run may take less than the default 0.1 s.
    env = dict(os.environ, ELMO_CACHE_DIR=str(tmp_path / "cache"), ELMO_PROGRESS_INTERVAL="0")
    p = subprocess.Popen([str(elmo_bin), "embed", str(many_lines), str(tmp_path / "o.hdf5"), "-m", str(fixture_dir),
                          "--batch-size", "1", "--threads", "1"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary, env=env)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(timeout=300) == 0
    text = out.decode()
    assert "\r[" in text and "#" in text and "tokens/s" in text  # a bar redrawn in place
    assert "elmo embed: 600 lines (" in text  # then the summary
