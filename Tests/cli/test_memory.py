"""Peak memory of `elmo embed` does not grow with the input (acceptance: 20,000 and 200,000
lines within 10%), for every output format. Uses the small fixture model, so the
measurement is dominated by the command's own buffers, libhdf5 and the output writers,
which is where growth would show."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared/bench/corpus.txt"


def peak_rss_kb(argv, env):
    """Runs argv and returns its own peak resident set size, measured by peak_rss.py."""
    helper = Path(__file__).with_name("peak_rss.py")
    r = subprocess.run([sys.executable, "-S", str(helper), *argv], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def make_input(path, n, source_lines):
    with open(path, "w") as f:
        for i in range(n):
            f.write(source_lines[i % len(source_lines)] + "\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, fixture_sentences):
    d = tmp_path_factory.mktemp("memory")
    if CORPUS.exists():
        source = CORPUS.read_text().splitlines()  # 15,726 distinct sentences
    else:
        source = [s for k in range(3) for s in fixture_sentences[k]]
    small, large = d / "in20k.txt", d / "in200k.txt"
    make_input(small, 20_000, source)
    make_input(large, 200_000, source)
    return d, small, large


@pytest.mark.parametrize("fmt, flags", [("hdf5", []), ("npz", ["--top"]), ("jsonl", ["--output-layer", "default"])])
def test_peak_memory_is_independent_of_input_length(elmo_bin, fixture_dir, inputs, fmt, flags):
    d, small, large = inputs
    env = dict(os.environ, ELMO_CACHE_DIR=str(d / "cache"))
    peaks = {}
    for name, inp in (("20k", small), ("200k", large)):
        out = d / f"out-{name}.{fmt}"
        peaks[name] = peak_rss_kb([str(elmo_bin), "embed", str(inp), str(out), "-m", str(fixture_dir), "-q",
                                   "--threads", "2", *flags], env)
        size = out.stat().st_size
        if fmt == "npz" and name == "200k":
            # More than 65,535 entries: the archive needs (and numpy reads) zip64 records.
            import numpy as np
            with np.load(out) as z:
                assert len(z.files) == 200_001 and z["199999"].ndim == 2
        if fmt == "hdf5" and name == "200k":
            # sentence_to_index (megabytes of JSON) streamed into the file at the end reads back.
            import h5py
            with h5py.File(out, "r") as f:
                mapping = json.loads(f["sentence_to_index"][0])
                with open(inp) as lines:
                    expected = {line.strip(): str(i) for i, line in enumerate(lines)}  # allennlp's dict
                assert mapping == expected
                assert f["199999"].shape[0] == 3
        out.unlink()
        print(f"{fmt} {name}: peak RSS {peaks[name]} KB, output {size} bytes")
    record = d.parent / "memory-results.jsonl"
    with open(record, "a") as f:
        f.write(json.dumps({"format": fmt, "peak_rss_kb": peaks}) + "\n")
    ratio = peaks["200k"] / peaks["20k"]
    assert 0.9 <= ratio <= 1.1, f"{fmt}: peak RSS {peaks} (ratio {ratio:.3f}) grows with the input"
