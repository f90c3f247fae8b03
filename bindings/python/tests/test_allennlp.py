"""elmo.allennlp: AllenNLP 0.9's ElmoEmbedder (numpy only), batch_to_ids and the Elmo torch
module, on the bilm-tf fixture, against elmo.Model and bilm-tf's stored outputs."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import elmo
from elmo.allennlp import ElmoEmbedder, batch_to_ids

from conftest import LAYERS, OUTPUT_DIM, REPOSITORY, TOKEN_DIM

BATCH = [["The", "bank", "of", "the", "river", "."], ["A", "loan", "."], [], ["Elk", "calling"]]


@pytest.fixture(scope="module")
def files(fixture_dir):
    return os.path.join(fixture_dir, "options.json"), os.path.join(fixture_dir, "lm_weights.hdf5")


@pytest.fixture(scope="module")
def embedder(files):
    with ElmoEmbedder(*files) as e:
        yield e


# ---- ElmoEmbedder ---------------------------------------------------------------------------

def test_embed_sentence_and_batch(embedder, model):
    one = embedder.embed_sentence(BATCH[0])
    assert one.shape == (LAYERS, 6, OUTPUT_DIM) and one.dtype == np.float32
    np.testing.assert_array_equal(one, model.embed([BATCH[0]], "all")[0])
    arrays = embedder.embed_batch(BATCH)
    assert [a.shape for a in arrays] == [(LAYERS, len(s), OUTPUT_DIM) for s in BATCH]
    for a, b in zip(arrays, model.embed(BATCH, "all")):
        np.testing.assert_array_equal(a, b)
    assert embedder.embed_batch([[]])[0].shape == (LAYERS, 0, OUTPUT_DIM)


def test_embed_sentences_is_a_lazy_generator(embedder, model):
    stream = embedder.embed_sentences(iter(BATCH * 50), batch_size=16)
    assert iter(stream) is stream
    got = list(stream)
    assert len(got) == 200
    for a, b in zip(got, model.embed(BATCH * 50, "all")):
        np.testing.assert_array_equal(a, b)


def test_batch_to_embeddings(embedder, model):
    activations, mask = embedder.batch_to_embeddings(BATCH)
    activations, mask = np.asarray(activations), np.asarray(mask)
    assert activations.shape == (4, LAYERS, 6, OUTPUT_DIM) and mask.shape == (4, 6)
    assert mask.tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0], [0] * 6, [1, 1, 0, 0, 0, 0]]
    for i, expected in enumerate(model.embed(BATCH, "all")):
        np.testing.assert_array_equal(activations[i, :, :len(BATCH[i])], expected)
        assert not activations[i, :, len(BATCH[i]):].any()


def test_stateful_reproduces_bilm_tfs_carried_states(files, fixture_sentences, fixture_dir):
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the fixture outputs")
    with ElmoEmbedder(*files, stateful=True) as stateful:
        worst = 0.0
        batches = [[fixture_sentences[k][i].split(" ") for k in range(3)] for i in range(10)]
        for i, layers in enumerate(stateful.embed_sentences((s for b in batches for s in b), batch_size=3)):
            k, row = i % 3, i // 3
            with h5py.File(os.path.join(fixture_dir, f"lm_embeddings_{k}.hdf5"), "r") as f:
                both = np.asarray(f[str(row)], dtype=np.float32)
            worst = max(worst, float(np.abs(layers[2] - np.concatenate([both[0], both[1]], -1)).max()))
    assert worst <= 1e-6, worst


def elmo_cli():
    """The `elmo` command for embed_file: $ELMO_CLI, else this checkout's release build."""
    path = os.environ.get("ELMO_CLI") or os.path.join(REPOSITORY, ".build", "release", "elmo-cli")
    if not os.access(path, os.X_OK):
        pytest.skip(f"the elmo command is not built ({path}): `make cli`, or set ELMO_CLI")
    return path


@pytest.mark.parametrize("output_format", ["all", "top", "average"])
def test_embed_file_writes_allennlps_layout(embedder, tmp_path, monkeypatch, output_format):
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the written file")
    monkeypatch.setenv("ELMO_CLI", elmo_cli())
    lines = [" ".join(s) for s in BATCH if s]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.hdf5"
    with open(source, encoding="utf-8") as f:
        embedder.embed_file(f, str(out), output_format, batch_size=2)
    expected = embedder.embed_batch([line.split() for line in lines])
    with h5py.File(out, "r") as f:
        assert sorted(f.keys()) == ["0", "1", "2", "sentence_to_index"]
        import json
        assert json.loads(f["sentence_to_index"][0]) == {line: str(i) for i, line in enumerate(lines)}
        for i, layers in enumerate(expected):
            want = {"all": layers, "top": layers[-1], "average": np.average(layers, axis=0)}[output_format]
            np.testing.assert_allclose(np.asarray(f[str(i)]), want, rtol=0, atol=1e-6)


def test_embed_file_keys_and_errors(embedder, tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the written file")
    monkeypatch.setenv("ELMO_CLI", elmo_cli())
    source = tmp_path / "in.txt"
    source.write_text("A loan .\nThe bank .\n", encoding="utf-8")
    out = tmp_path / "keys.hdf5"
    embedder.embed_file(str(source), str(out), use_sentence_keys=True)
    with h5py.File(out, "r") as f:
        assert sorted(f.keys()) == ["A loan .", "The bank ."]
    embedder.embed_file(str(source), str(tmp_path / "forget.hdf5"), forget_sentences=True)
    with h5py.File(tmp_path / "forget.hdf5", "r") as f:
        assert sorted(f.keys()) == ["0", "1"]
    with pytest.raises(elmo.InvalidArgumentError, match="output_format"):
        embedder.embed_file(str(source), str(out), "middle")
    monkeypatch.setenv("ELMO_CLI", "/nonexistent/elmo")
    with pytest.raises(OSError):
        embedder.embed_file(str(source), str(out))


# ---- batch_to_ids -----------------------------------------------------------------------------

def test_batch_to_ids_values():
    ids = np.asarray(batch_to_ids([["a", "<S>"], ["bé"]]))
    assert ids.shape == (2, 2, 50) and ids.dtype == np.int64
    assert ids[0, 0, :3].tolist() == [259, 98, 260] and ids[0, 1, :3].tolist() == [259, 257, 260]
    assert ids[1, 0, :5].tolist() == [259, 99, 0xC3 + 1, 0xA9 + 1, 260] and not ids[1, 1].any()


# ---- the Elmo torch module ----------------------------------------------------------------

def torch_or_skip():
    return pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0+cpu)")


def hand_mix(layers, mask, weights, gamma, layer_norm):
    """AllenNLP's ScalarMix in numpy float64: layers (B, L, T, D), mask (B, T)."""
    s = np.exp(weights - np.max(weights))
    s /= s.sum()
    out = 0
    for k in range(layers.shape[1]):
        x = layers[:, k].astype(np.float64)
        if layer_norm:
            m = mask[:, :, None].astype(np.float64)
            n = m.sum() * x.shape[-1]
            mean = (x * m).sum() / n
            var = (((x * m) - mean) * m) ** 2
            x = (x - mean) / np.sqrt(var.sum() / n + 1e-12)
        out = out + s[k] * x
    return gamma * out


def bilm_layers(model, batch):
    """Every layer with the boundary rows, (B, L, T+2, D), zero-padded, from elmo.Model."""
    ids = np.asarray(batch_to_ids(batch))
    counts = [len(s) for s in batch]
    rows = np.concatenate([ids[i, :n] for i, n in enumerate(counts)])
    arrays = model.embed_character_ids(rows, counts, "all", sentence_boundaries=True)
    layers = np.zeros((len(batch), LAYERS, ids.shape[1] + 2, OUTPUT_DIM), dtype=np.float32)
    mask = np.zeros((len(batch), ids.shape[1] + 2), dtype=np.int64)
    for i, (a, n) in enumerate(zip(arrays, counts)):
        layers[i, :, :n + 2] = a
        mask[i, :n + 2] = 1
    return layers, mask


@pytest.mark.parametrize("layer_norm", [False, True])
def test_forward_equals_a_hand_computed_mix(files, model, layer_norm):
    torch = torch_or_skip()
    from elmo.allennlp import Elmo
    batch = BATCH  # with an all-padding row: its <S> </S> rows enter the layer-norm statistics
    module = Elmo(*files, num_output_representations=2, dropout=0.0, do_layer_norm=layer_norm)
    with torch.no_grad():
        module.scalar_mix_0.scalar_parameters[0].fill_(0.5)
        module.scalar_mix_0.scalar_parameters[2].fill_(-1.0)
        module.scalar_mix_0.gamma.fill_(1.5)
    out = module(batch_to_ids(batch))
    assert set(out) == {"elmo_representations", "mask"} and len(out["elmo_representations"]) == 2
    mask = out["mask"].numpy()
    assert out["mask"].dtype == torch.int64
    assert mask.tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0], [0] * 6, [1, 1, 0, 0, 0, 0]]
    layers, mask_bos = bilm_layers(model, batch)
    assert layers[2, :, :2].any()  # the empty row's <S> </S> pair was computed
    for rep, weights, gamma in ((0, [0.5, 0.0, -1.0], 1.5), (1, [0.0, 0.0, 0.0], 1.0)):
        got = out["elmo_representations"][rep].detach().numpy()
        assert got.shape == (4, 6, OUTPUT_DIM) and got.dtype == np.float32
        mixed = hand_mix(layers, mask_bos, np.array(weights), gamma, layer_norm)
        for i, s in enumerate(batch):
            np.testing.assert_allclose(got[i, :len(s)], mixed[i, 1:len(s) + 1], rtol=0, atol=1e-6)
            assert not got[i, len(s):].any()
    if not layer_norm:  # equal weights, gamma 1: the model's own `elmo` output
        for i, e in enumerate(model.embed(batch, "elmo")):
            np.testing.assert_allclose(out["elmo_representations"][1][i, :len(batch[i])].detach().numpy(), e,
                                       rtol=0, atol=1e-6)


def test_the_empty_rows_boundary_pair(model):
    """A sentence of 0 tokens with boundary rows: the biLM over <S> </S> alone, whose token layer
    is that of the boundary tokens."""
    rows, counts = np.zeros((0, 50), dtype=np.int64), [0]
    (pair,) = model.embed_character_ids(rows, counts, "all", sentence_boundaries=True)
    assert pair.shape == (LAYERS, 2, OUTPUT_DIM)
    bos, eos = model.embed([["<S>", "</S>"]], "word_emb")[0]
    np.testing.assert_array_equal(pair[0, :, :TOKEN_DIM], np.stack([bos, eos]))
    assert model.embed_character_ids(rows, counts, "all")[0].shape == (LAYERS, 0, OUTPUT_DIM)


def test_keep_sentence_boundaries_and_empty_rows(files, model):
    torch_or_skip()
    from elmo.allennlp import Elmo
    module = Elmo(*files, 1, dropout=0.0, keep_sentence_boundaries=True)
    out = module(batch_to_ids(BATCH))
    rep, mask = out["elmo_representations"][0].detach().numpy(), out["mask"].numpy()
    assert rep.shape == (4, 8, OUTPUT_DIM) and mask.shape == (4, 8)
    assert mask.sum(axis=1).tolist() == [8, 5, 2, 4]
    layers, mask_bos = bilm_layers(model, BATCH)
    np.testing.assert_array_equal(mask, mask_bos)
    np.testing.assert_allclose(rep, hand_mix(layers, mask_bos, np.zeros(3), 1.0, False), rtol=0, atol=1e-6)
    assert rep[2, :2].any() and not rep[2, 2:].any()  # the empty row: its <S> </S> pair only
    # Without boundaries an empty row is all zeros with an all-zero mask.
    plain = Elmo(*files, 1, dropout=0.0)(batch_to_ids(BATCH))
    assert not plain["elmo_representations"][0][2].any() and not plain["mask"][2].any()


def test_leading_dimensions_and_dropout(files):
    torch = torch_or_skip()
    from elmo.allennlp import Elmo
    ids = batch_to_ids([s for s in BATCH if s])
    module = Elmo(*files, 1, dropout=0.0)
    flat = module(ids)["elmo_representations"][0]
    nested = module(ids.view(1, 3, 6, 50))
    assert nested["elmo_representations"][0].shape == (1, 3, 6, OUTPUT_DIM) and nested["mask"].shape == (1, 3, 6)
    assert torch.equal(nested["elmo_representations"][0][0], flat)
    dropped = Elmo(*files, 1, dropout=0.5)
    dropped.train()
    out = dropped(ids)["elmo_representations"][0]
    kept = out != 0
    assert 0 < kept.sum() < (flat != 0).sum()
    assert torch.allclose(out[kept], 2 * flat[kept], atol=1e-6)
    dropped.eval()
    assert torch.allclose(dropped(ids)["elmo_representations"][0], flat, atol=1e-6)


def test_one_optimiser_step_trains_the_mix_only(files):
    torch = torch_or_skip()
    from elmo.allennlp import Elmo
    ids = batch_to_ids([s for s in BATCH if s])
    module = Elmo(*files, 1, dropout=0.0)
    trainable = [name for name, p in module.named_parameters() if p.requires_grad]
    assert sorted(trainable) == ["scalar_mix_0.gamma", "scalar_mix_0.scalar_parameters.0",
                                 "scalar_mix_0.scalar_parameters.1", "scalar_mix_0.scalar_parameters.2"]
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    first = module(ids)["elmo_representations"][0].detach().clone()
    optimiser = torch.optim.SGD(module.parameters(), lr=0.1)
    loss = (module(ids)["elmo_representations"][0] ** 2).sum()
    loss.backward()
    optimiser.step()
    assert all(not torch.equal(before[n], p) for n, p in module.named_parameters())
    assert not torch.equal(module(ids)["elmo_representations"][0], first)
    # The biLM is untouched: a fresh module gives what the first gave before the step.
    assert torch.equal(Elmo(*files, 1, dropout=0.0)(ids)["elmo_representations"][0], first)


def test_constructor_arguments(files):
    torch = torch_or_skip()
    from elmo.allennlp import Elmo
    with pytest.raises(elmo.InvalidArgumentError, match="biLM is frozen"):
        Elmo(*files, 1, requires_grad=True)
    fixed = Elmo(*files, 1, scalar_mix_parameters=[1.0, -9e10, -9e10], dropout=0.0)
    assert not any(p.requires_grad for p in fixed.parameters())
    ids = batch_to_ids([["A", "loan", "."]])
    top = fixed(ids)["elmo_representations"][0][0].detach().numpy()
    assert fixed.get_output_dim() == OUTPUT_DIM
    word = Elmo(*files, 1, dropout=0.0, vocab_to_cache=["@@PADDING@@", "A", "loan", "."])
    by_word = word(ids, torch.tensor([[1, 2, 3]]))["elmo_representations"][0][0].detach().numpy()
    np.testing.assert_array_equal(by_word, word(ids)["elmo_representations"][0][0].detach().numpy())
    assert top.shape == (3, OUTPUT_DIM)
    with pytest.raises(ValueError, match="padded"):
        Elmo(*files, 1)(torch.cat([torch.zeros(1, 1, 50, dtype=torch.long), ids], dim=1))


def test_without_torch(tmp_path, files):
    """torch made unimportable: elmo, ElmoEmbedder and batch_to_ids work, Elmo says how to install it."""
    script = textwrap.dedent(f"""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("No module named 'torch' (blocked by the test)")
                return None
        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        import elmo, elmo.allennlp, elmo.hub
        from elmo.allennlp import ElmoEmbedder, batch_to_ids
        assert "torch" not in sys.modules
        ids = batch_to_ids([["a"]])
        assert isinstance(ids, np.ndarray), type(ids)
        e = ElmoEmbedder({files[0]!r}, {files[1]!r})
        activations, mask = e.batch_to_embeddings([["a", "b"]])
        assert isinstance(activations, np.ndarray) and activations.shape == (1, 3, 2, 32)
        try:
            from elmo.allennlp import Elmo
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("Elmo imported without torch")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "elmo.allennlp.Elmo is a torch.nn.Module and needs PyTorch" in result.stdout
    assert "pip install torch" in result.stdout


def test_import_elmo_never_imports_torch(tmp_path):
    code = "import sys, elmo, elmo.allennlp, elmo.hub; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_top_layer_mix_matches_bilm_tf(files, fixture_sentences, fixture_dir):
    """scalar_mix_parameters that select the top layer: the module's output is bilm-tf's."""
    torch_or_skip()
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the fixture outputs")
    from elmo.allennlp import Elmo
    sentences = [fixture_sentences[k][0].split(" ") for k in range(3)]
    module = Elmo(*files, 1, dropout=0.0, scalar_mix_parameters=[-1e4, -1e4, 1e4])
    rep = module(batch_to_ids(sentences))["elmo_representations"][0].detach().numpy()
    for k, s in enumerate(sentences):
        with h5py.File(os.path.join(fixture_dir, f"lm_embeddings_{k}.hdf5"), "r") as f:
            both = np.asarray(f["0"], dtype=np.float32)
        np.testing.assert_allclose(rep[k, :len(s)], np.concatenate([both[0], both[1]], -1), rtol=0, atol=1e-6)
