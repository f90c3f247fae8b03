"""`elmo convert`: official files, model paths and TF Hub modules to the native file."""
import json

import numpy as np

from conftest import REPO

TFHUB = REPO / "Tests/Fixtures/tfhub"


def embed_jsonl(run, model, tmp_path, name):
    text = tmp_path / "in.txt"
    text.write_text("The bank of the river .\nCafé naïve über 日本語\n")
    out = tmp_path / f"{name}.jsonl"
    r = run("embed", text, out, "--model", model, "--all", "--quiet")
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_convert_official_files_and_embed_identically(run, fixture_dir, tmp_path):
    out = tmp_path / "fixture.elmo"
    r = run("convert", fixture_dir / "options.json", fixture_dir / "lm_weights.hdf5", out)
    assert r.returncode == 0, r.stderr
    assert "bit-identical" in r.stdout
    header_len = int.from_bytes(out.read_bytes()[:8], "little")
    header = json.loads(out.read_bytes()[8:8 + header_len])
    assert "__metadata__" in header
    assert embed_jsonl(run, fixture_dir, tmp_path, "hdf5") == embed_jsonl(run, out, tmp_path, "native")
    info = run("info", out, "--json")
    assert info.returncode == 0 and "native" in json.loads(info.stdout)["format"]


def test_convert_a_model_path_and_a_tf_hub_module(run, fixture_dir, tmp_path):
    for source, name in ((fixture_dir, "dir"), (TFHUB / "module", "module"), (TFHUB / "module.tar.gz", "tarball")):
        out = tmp_path / f"{name}.elmo"
        r = run("convert", source, out, "--quiet")
        assert r.returncode == 0, r.stderr
        assert r.stdout == ""
        a = embed_jsonl(run, source, tmp_path, f"{name}-src")
        b = embed_jsonl(run, out, tmp_path, f"{name}-native")
        assert a == b
    # The module's own scalar mix survives conversion: `elmo` from the native file equals the
    # module's, and differs from the plain average of the layers.
    text = tmp_path / "one.txt"
    text.write_text("The bank of the river .\n")
    mixes = []
    for model in (TFHUB / "module", tmp_path / "module.elmo"):
        out = tmp_path / "mix.jsonl"
        r = run("embed", text, out, "--model", model, "--output-layer", "elmo", "--quiet")
        assert r.returncode == 0, r.stderr
        mixes.append(np.array(json.loads(out.read_text())["embedding"]))
    assert np.array_equal(mixes[0], mixes[1])
    r = run("embed", text, tmp_path / "avg.jsonl", "--model", TFHUB / "module", "--average", "--quiet")
    assert r.returncode == 0, r.stderr
    average = np.array(json.loads((tmp_path / "avg.jsonl").read_text())["embedding"])
    assert not np.allclose(mixes[0], average)


def test_convert_usage_and_failures(run, fixture_dir, tmp_path):
    assert run("convert").returncode == 2
    assert run("convert", tmp_path / "a").returncode == 2
    assert run("convert", "a", "b", "c", "d").returncode == 2
    r = run("convert", tmp_path / "missing", tmp_path / "x.elmo")
    assert r.returncode == 1 and "missing" in r.stderr
    r = run("convert", fixture_dir, tmp_path / "no" / "dir" / "x.elmo")
    assert r.returncode == 1 and "x.elmo" in r.stderr
    assert not (tmp_path / "no").exists()
    r = run("convert", fixture_dir / "options.json", fixture_dir / "sentences.json", tmp_path / "y.elmo")
    assert r.returncode == 1 and "sentences.json" in r.stderr
    assert not (tmp_path / "y.elmo").exists()
    assert run("convert", "--help").returncode == 0
