"""Issue #15, item 1: any number of sentences and tokens, empty sentences, and the lazy
iter_embed over endless input at constant memory. "Identical to one call" is checked bit for
bit: a sentence's vectors never depend on its batch, so however the input is cut into library
calls, every array equals the one the sentence gets alone or in an unsplit call."""

import itertools

import numpy as np
import pytest

import elmo

from conftest import LAYERS, OUTPUT_DIM, TOKEN_DIM

WORDS = "the bank of river loan a from elk calling skill hunters perfected long ago".split()


def corpus(n, seed=0, longest=12):
    """n token lists of 1..longest tokens (deterministic)."""
    rng = np.random.default_rng(seed)
    return [[WORDS[k] for k in rng.integers(0, len(WORDS), size=int(rng.integers(1, longest + 1)))]
            for _ in range(n)]


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    pytest.skip("no /proc/self/status: cannot measure RSS")


@pytest.mark.parametrize("output,shape", [
    ("all", (LAYERS, 0, OUTPUT_DIM)), ("word_emb", (0, TOKEN_DIM)), ("lstm_outputs1", (0, OUTPUT_DIM)),
    ("lstm_outputs2", (0, OUTPUT_DIM)), ("elmo", (0, OUTPUT_DIM)), ("default", (OUTPUT_DIM,))])
def test_empty_sentences_give_empty_arrays_and_zero_default(model, output, shape):
    inputs = ["The bank .", "", "   \t\n", "A loan ."]
    arrays = model.embed(inputs, output)
    assert [a.shape for a in arrays][1:3] == [shape, shape]
    assert all(a.dtype == np.float32 for a in arrays)
    if output == "default":
        assert not arrays[1].any() and not arrays[2].any()
    # The other sentences are what they are without the empty ones; token lists behave alike.
    for got, want in zip([arrays[0], arrays[3]], model.embed(["The bank .", "A loan ."], output)):
        np.testing.assert_array_equal(got, want)
    tokens = model.embed([["The", "bank", "."], [], ["A", "loan", "."]], output)
    assert tokens[1].shape == shape
    np.testing.assert_array_equal(tokens[2], arrays[3])


def test_empty_input_and_only_empty_sentences(model):
    assert model.embed([]) == []
    assert model.embed([], "default") == []
    batch, lengths = model.embed(["", " "], "elmo", padded=True)
    assert batch.shape == (2, 0, OUTPUT_DIM) and lengths.tolist() == [0, 0]
    batch, lengths = model.embed(["a b", ""], "default", padded=True)
    assert batch.shape == (2, OUTPUT_DIM) and not batch[1].any() and lengths.tolist() == [2, 0]


def test_twenty_thousand_sentences_in_one_call(model):
    """More sentences than one library call takes (16,384): cut into calls, same bits."""
    sentences = corpus(20_000, seed=1, longest=6)
    arrays = model.embed(sentences, "elmo")
    assert len(arrays) == 20_000
    assert [a.shape for a in arrays] == [(len(s), OUTPUT_DIM) for s in sentences]
    # Across the cut (the first call takes 16,384) in one call of their own, and a few alone.
    for got, want in zip(arrays[16_000:17_000], model.embed(sentences[16_000:17_000], "elmo")):
        np.testing.assert_array_equal(got, want)
    for i in (0, 16_383, 16_384, 19_999):
        np.testing.assert_array_equal(arrays[i], model.embed([sentences[i]], "elmo")[0])


def test_hundred_thousand_tokens_in_one_call(model):
    """More tokens than one call takes (65,536): 1,000 sentences of 100 tokens."""
    sentences = [[WORDS[(i + j) % len(WORDS)] for j in range(100)] for i in range(1_000)]
    arrays = model.embed(sentences, "all")
    assert sum(a.shape[1] for a in arrays) == 100_000
    # The first call holds 655 sentences (65,500 tokens): the sentences around the cut, alone.
    for got, want in zip(arrays[600:700], model.embed(sentences[600:700], "all")):
        np.testing.assert_array_equal(got, want)
    # Raw texts are cut the same way.
    texts = [" ".join(s) for s in sentences]
    for got, want in zip(model.embed(texts, "word_emb"), arrays):
        np.testing.assert_array_equal(got, want[0, :, :TOKEN_DIM])


def test_small_session_limits_split_exactly(model):
    sentences = corpus(50, seed=2)
    whole = model.embed(sentences, "lstm_outputs2")
    with model.session(max_sentences=3, max_tokens_per_call=20) as session:
        for got, want in zip(session.embed(sentences, "lstm_outputs2"), whole):
            np.testing.assert_array_equal(got, want)
        batch, lengths = session.embed(sentences, "lstm_outputs2", padded=True)
        assert lengths.tolist() == [len(s) for s in sentences]
        assert batch.shape == (50, max(lengths), OUTPUT_DIM)


def test_a_sentence_longer_than_one_call_is_a_clear_error(model):
    with model.session(max_tokens_per_call=10) as session:
        with pytest.raises(elmo.LimitExceededError, match="sentence 1 has 11 tokens, more than one library call holds"):
            session.embed([["a"], ["a"] * 11])


def test_errors_name_the_sentence_of_the_whole_input(model):
    """A library error inside a later call names the sentence's index in the whole input."""
    with model.session(max_sentences=2) as session:
        with pytest.raises(elmo.InvalidInputError, match=r"sentence 5: token 0 is not valid UTF-8"):
            session.embed([["a"], [], ["b"], ["c"], ["d"], [b"\xff"]])
        with pytest.raises(elmo.InvalidArgumentError, match="sentence 4 token 1 is a int"):
            session.embed([["a"], ["b"], ["c"], ["d"], ["e", 1]])


def test_iter_embed_yields_in_order_what_embed_gives(model):
    sentences = corpus(300, seed=3) + [[]]
    expected = model.embed(sentences, "elmo")
    got = list(model.iter_embed(iter(sentences), "elmo", batch_size=7))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    with model.session() as session:
        for a, b in zip(session.iter_embed(sentences, "elmo", batch_size=64), expected):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(elmo.InvalidArgumentError, match="batch_size must be a positive int"):
        model.iter_embed(sentences, batch_size=0)


def test_iter_embed_over_an_endless_generator_at_flat_memory(model):
    """50,000 sentences from an endless generator, then stop: RSS does not grow with the count."""
    def endless():
        rng = np.random.default_rng(4)
        while True:
            yield " ".join(WORDS[k] for k in rng.integers(0, len(WORDS), size=int(rng.integers(1, 7))))

    stream = model.iter_embed(endless(), "default", batch_size=256)
    total = np.zeros(OUTPUT_DIM, dtype=np.float64)
    for vector in itertools.islice(stream, 5_000):
        total += vector
    before = rss_bytes()
    for vector in itertools.islice(stream, 45_000):
        total += vector
    after = rss_bytes()
    assert np.isfinite(total).all() and total.any()
    assert after - before < 16 * 2 ** 20, f"RSS grew by {(after - before) / 2 ** 20:.1f} MiB over 45,000 sentences"


def test_stateful_iter_embed_carries_states_per_chunk(model, fixture_sentences):
    """A stateful session's chunks are its calls: the same as embedding the batches one by one."""
    batches = [[fixture_sentences[k][i] for k in range(3)] for i in range(4)]
    with model.session(stateful=True) as a, model.session(stateful=True) as b:
        expected = [array for batch in batches for array in a.embed(batch, "lstm_outputs2")]
        got = list(b.iter_embed((s for batch in batches for s in batch), "lstm_outputs2", batch_size=3))
    for x, y in zip(got, expected):
        np.testing.assert_array_equal(x, y)


def test_elmo2vec_any_size(fixture_dir):
    with elmo.Elmo2Vec(fixture_dir) as encoder:
        texts = [" ".join(s) for s in corpus(17_000, seed=5, longest=4)]
        vectors = encoder.bulk_encode(texts, chunks=17_000)
        assert len(vectors) == 17_000
        assert vectors[16_999] == encoder.encode(texts[16_999])
