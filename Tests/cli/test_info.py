"""`elmo info`."""
import json

import h5py
import numpy as np
import pytest

from conftest import REPO


def count_parameters(weights):
    """Parameters of the official weight file, counted independently: every dataset's size."""
    total = 0

    def visit(_, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += obj.size

    with h5py.File(weights, "r") as f:
        f.visititems(visit)
    return total


def test_info_text(run, fixture_dir):
    r = run("info", fixture_dir)
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(":", 1) for line in r.stdout.splitlines())
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["model"] == str(fixture_dir)
    assert "HDF5" in fields["format"]
    assert fields["parameters"] == f"{count_parameters(fixture_dir / 'lm_weights.hdf5'):,}"
    size = (fixture_dir / "options.json").stat().st_size + (fixture_dir / "lm_weights.hdf5").stat().st_size
    assert f"({size:,} bytes)" in fields["size"]
    assert "2 layers" in fields["biLSTM"] and "64 cells" in fields["biLSTM"] and "projection 16" in fields["biLSTM"]
    assert fields["output all"] == "(3, tokens, 32)"
    assert fields["output word_emb"] == "(tokens, 16)"
    assert fields["output default"] == "(32,)"


def test_info_json(run, fixture_dir):
    r = run("info", fixture_dir / "lm_weights.hdf5", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    options = json.loads((fixture_dir / "options.json").read_text())
    assert info["parameters"] == count_parameters(fixture_dir / "lm_weights.hdf5")
    assert [f["role"] for f in info["files"]] == ["options", "weights"]
    assert info["files"][1]["size"] == (fixture_dir / "lm_weights.hdf5").stat().st_size
    assert info["lstm"]["dim"] == options["lstm"]["dim"]
    assert info["lstm"]["projection_dim"] == options["lstm"]["projection_dim"]
    assert info["lstm"]["n_layers"] == options["lstm"]["n_layers"]
    assert info["char_cnn"]["filters"] == options["char_cnn"]["filters"]
    assert info["char_cnn"]["n_highway"] == options["char_cnn"]["n_highway"]
    assert info["output_dim"] == 2 * options["lstm"]["projection_dim"]
    assert info["outputs"] == {"all": [3, None, 32], "word_emb": [None, 16], "lstm_outputs1": [None, 32],
                               "lstm_outputs2": [None, 32], "elmo": [None, 32], "default": [32]}


TFHUB = REPO / "Tests/Fixtures/tfhub"


@pytest.mark.parametrize("module", ["module", "module.tar.gz"])
def test_info_and_embed_with_a_tf_hub_module(run, tmp_path, module):
    path = TFHUB / module
    r = run("info", path, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert "TF Hub" in info["format"]
    assert info["parameters"] == count_parameters(TFHUB / "twin/weights.hdf5")
    assert info["size"] == sum(f["size"] for f in info["files"])
    # Every layer from the module equals every layer from its HDF5 twin.
    (tmp_path / "in.txt").write_text("The cat sat on the mat .\nA dog .\n")
    assert run("embed", "in.txt", "hub.npz", "-m", path).returncode == 0
    assert run("embed", "in.txt", "twin.npz", "-m", TFHUB / "twin").returncode == 0
    hub, twin = np.load(tmp_path / "hub.npz"), np.load(tmp_path / "twin.npz")
    for key in ("0", "1"):
        np.testing.assert_allclose(hub[key], twin[key], atol=1e-6)
