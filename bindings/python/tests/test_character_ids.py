"""elmo_embed_character_ids (through Session/Model.embed_character_ids): character ids reach the
model exactly as given, every row is checked, and sentence_boundaries returns the <S>/</S> rows."""

import numpy as np
import pytest

import elmo
from elmo.allennlp._ids import batch_ids, token_ids

from conftest import LAYERS, OUTPUT_DIM, SENTENCES, TOKEN_DIM


def rows_of(sentences):
    """Every sentence's id rows back to back, and the token counts."""
    rows = [token_ids(t) for s in sentences for t in s]
    return np.array(rows, dtype=np.int64).reshape(-1, 50), [len(s) for s in sentences]


def test_ids_of_a_word_and_of_the_boundaries():
    row = token_ids("aé")  # bytes 0x61 0xC3 0xA9
    assert row[:5].tolist() == [259, 0x61 + 1, 0xC3 + 1, 0xA9 + 1, 260] and (row[5:] == 261).all()
    assert token_ids("<S>")[:4].tolist() == [259, 257, 260, 261]
    assert token_ids("</S>")[:4].tolist() == [259, 258, 260, 261]
    long = token_ids("x" * 60)
    assert (long[1:49] == ord("x") + 1).all() and long[49] == 260
    ids = batch_ids([["a", "b"], ["c"], []])
    assert ids.shape == (3, 2, 50) and not ids[1, 1].any() and not ids[2].any()


@pytest.mark.parametrize("output", ["all", "word_emb", "lstm_outputs1", "elmo", "default"])
def test_same_vectors_as_text(model, output):
    sentences = [s.split() for s in SENTENCES]
    rows, counts = rows_of(sentences)
    got = model.embed_character_ids(rows, counts, output)
    for a, b in zip(got, model.embed(sentences, output)):
        np.testing.assert_array_equal(a, b)


def test_cut_inside_a_multibyte_character(model):
    """47 ASCII bytes then 'é': the 48-byte cut ends inside it. The ids embed (text would be the
    same bytes before the cut, so the vectors equal the text path's for the full token)."""
    token = "a" * 47 + "é"
    row = token_ids(token)
    assert row[48] == 0xC3 + 1 and row[49] == 260
    got = model.embed_character_ids(row[None, :], [1], "all")[0]
    np.testing.assert_array_equal(got, model.embed([[token]], "all")[0])


def test_a_word_spelled_like_a_boundary_is_not_the_boundary(model):
    """Text "<S>" is the boundary token (bilm-tf); ids can say the word made of '<', 'S', '>'."""
    boundary = model.embed_character_ids(token_ids("<S>")[None, :], [1], "word_emb")[0]
    np.testing.assert_array_equal(boundary, model.embed([["<S>"]], "word_emb")[0])
    word = np.full(50, 261)
    word[:5] = [259, ord("<") + 1, ord("S") + 1, ord(">") + 1, 260]
    spelled = model.embed_character_ids(word[None, :], [1], "word_emb")[0]
    assert not np.array_equal(spelled, boundary)


def test_sentence_boundary_rows(model):
    sentences = [s.split() for s in SENTENCES]
    rows, counts = rows_of(sentences)
    plain = model.embed(sentences, "all")
    for output in ("all", "word_emb", "lstm_outputs2", "elmo"):
        with_boundaries = model.embed_character_ids(rows, counts, output, sentence_boundaries=True)
        tokens_only = model.embed(sentences, output)
        for a, b, n in zip(with_boundaries, tokens_only, counts):
            axis = 1 if output == "all" else 0
            assert a.shape[axis] == n + 2
            if output != "elmo":  # the mix of rows is per row: the inner rows are the tokens' own
                np.testing.assert_array_equal(np.take(a, range(1, n + 1), axis=axis), b)
    # Layer 0 at the <S> and </S> positions is the token layer of the boundary tokens.
    bos, eos = model.embed([["<S>", "</S>"]], "word_emb")[0]
    for a in model.embed_character_ids(rows, counts, "all", sentence_boundaries=True):
        np.testing.assert_array_equal(a[0, 0, :TOKEN_DIM], bos)
        np.testing.assert_array_equal(a[0, -1, :TOKEN_DIM], eos)
    assert plain[0].shape[0] == LAYERS
    with pytest.raises(elmo.InvalidArgumentError, match="not to the pooled `default`"):
        model.embed_character_ids(rows, counts, "default", sentence_boundaries=True)


def test_empty_sentences(model):
    rows, counts = rows_of([["a"], [], ["b", "c"]])
    a = model.embed_character_ids(rows, counts, "all")
    assert [x.shape for x in a] == [(LAYERS, 1, OUTPUT_DIM), (LAYERS, 0, OUTPUT_DIM), (LAYERS, 2, OUTPUT_DIM)]
    assert not model.embed_character_ids(rows, counts, "default")[1].any()


@pytest.mark.parametrize("change,message", [
    (lambda r: r.__setitem__(3, 262), "character id 262 at position 3 is outside 0...261"),
    (lambda r: r.__setitem__(3, -1), "character id -1 at position 3 is outside"),
    (lambda r: r.__setitem__(slice(None), 0), "is padding (all ids 0)"),
    (lambda r: r.__setitem__(0, 98), "character id 98 at position 0 where begin-of-word (259) belongs"),
    (lambda r: r.__setitem__(2, 261), "where a byte id (1...256) or end-of-word (260) belongs"),
    (lambda r: r.__setitem__(10, 98), "character id 98 at position 10 where padding after end-of-word (261) belongs"),
    (lambda r: r.__setitem__(slice(1, 50), 98), "no end-of-word (260) id in the row"),
    (lambda r: r.__setitem__(slice(0, 4), [259, 257, 98, 260]), "where end-of-word after a sentence boundary mark"),
])
def test_malformed_rows_are_refused_with_their_place(model, change, message):
    rows, counts = rows_of([["ok"], ["fine", "abc"]])
    change(rows[2])
    with pytest.raises(elmo.InvalidInputError, match=r"sentence 1, token 1") as info:
        model.embed_character_ids(rows, counts, "all")
    assert message in str(info.value)


def test_shape_errors(model):
    rows, counts = rows_of([["a", "b"]])
    with pytest.raises(elmo.InvalidArgumentError, match=r"shape \(sum\(token_counts\), 50\)"):
        model.embed_character_ids(rows[:, :49], counts)
    with pytest.raises(elmo.InvalidArgumentError, match="shape"):
        model.embed_character_ids(rows, [3])
    assert model.characters_per_token == 50


def test_parity_with_bilm_tf(model, fixture_sentences, fixture_dir):
    """The fixture's first batch (bilm-tf, stateless start) through character ids."""
    h5py = pytest.importorskip("h5py", reason="h5py (a test-only dependency) reads the fixture outputs")
    sentences = [fixture_sentences[k][0].split(" ") for k in range(3)]
    rows, counts = rows_of(sentences)
    got = model.embed_character_ids(rows, counts, "lstm_outputs2")
    worst = 0.0
    for k in range(3):
        with h5py.File(f"{fixture_dir}/lm_embeddings_{k}.hdf5", "r") as f:
            both = np.asarray(f["0"], dtype=np.float32)
        expected = np.concatenate([both[0], both[1]], axis=-1)
        worst = max(worst, float(np.abs(got[k] - expected).max()))
    assert worst <= 1e-6, worst


def test_random_rows_never_crash(model):
    """Rows mutated at random (ids anywhere in -3...300, at any position): each call either
    embeds or raises InvalidInputError; valid rows give the text path's vectors."""
    rng = np.random.default_rng(7)
    base, counts = rows_of([["river", "bank"], ["é" * 30]])
    outcomes = set()
    for _ in range(300):
        rows = base.copy()
        for _ in range(int(rng.integers(1, 4))):
            rows[rng.integers(0, 3), rng.integers(0, 50)] = rng.integers(-3, 301)
        try:
            model.embed_character_ids(rows, counts, "word_emb")
            outcomes.add("ok")
        except elmo.InvalidInputError:
            outcomes.add("refused")
    assert outcomes == {"ok", "refused"}
    np.testing.assert_array_equal(model.embed_character_ids(base, counts, "word_emb")[1],
                                  model.embed([["é" * 30]], "word_emb")[0])
