"""Elmo2Vec: vectorhub's API (encode, bulk_encode, vector_length, output layers, model_url,
trainable_model), mean pooling by default and vectorhub's first-token pooling on request."""

import inspect
import os

import numpy as np
import pytest

import elmo
from elmo import Elmo2Vec

from conftest import OUTPUT_DIM, SENTENCES, TOKEN_DIM
from http_server import FileServer, spec_files

EXAMPLE = "I enjoy taking long walks along the beach with my dog."
LAYERS = ["word_emb", "lstm_outputs1", "lstm_outputs2", "elmo", "default"]


@pytest.fixture(scope="module")
def encoder(fixture_dir):
    with Elmo2Vec(fixture_dir) as e:
        yield e


def width(layer):
    return TOKEN_DIM if layer == "word_emb" else OUTPUT_DIM


def test_vectorhub_example_with_the_default_model_url(fixture_dir, cache, monkeypatch):
    """`Elmo2Vec().encode(...)`: the default TF Hub address means the original model, fetched once
    by name (here from a local server that serves the fixture model as `original`)."""
    with FileServer(spec_files(fixture_dir, names=("original",))) as server:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", server.base_url)
        vector = Elmo2Vec().encode(EXAMPLE)
        assert len(server.gets("_weights.hdf5")) == 1
        Elmo2Vec("https://tfhub.dev/google/elmo/2")  # the cached copy: no second download
        assert len(server.gets("_weights.hdf5")) == 1
    assert isinstance(vector, list) and len(vector) == OUTPUT_DIM
    assert all(type(v) is float for v in vector)
    assert (cache / "original" / "weights.hdf5").exists()


def test_signatures_accept_vectorhubs_arguments():
    init = inspect.signature(Elmo2Vec.__init__).parameters
    assert list(init)[1:3] == ["model_url", "trainable_model"]
    assert init["model_url"].default == "https://tfhub.dev/google/elmo/3"
    assert init["trainable_model"].default is True
    encode = inspect.signature(Elmo2Vec.encode).parameters
    assert list(encode)[1:3] == ["text", "output_layer"] and encode["output_layer"].default == "elmo"
    bulk = inspect.signature(Elmo2Vec.bulk_encode).parameters
    assert list(bulk)[1:3] == ["texts", "output_layer"] and bulk["output_layer"].default == "elmo"
    assert "threads" in bulk and "chunks" in bulk
    assert "https://tfhub.dev/google/elmo/3" in Elmo2Vec.urls


def test_vector_length_and_positional_model_url(encoder, fixture_dir):
    assert encoder.vector_length == OUTPUT_DIM
    assert encoder.model_url == fixture_dir
    assert encoder.output_layers == LAYERS
    assert encoder.__name__ == "elmo"
    assert len(encoder.encode("hello world")) == encoder.vector_length


@pytest.mark.parametrize("layer", LAYERS)
def test_encode_is_the_mean_over_tokens(encoder, layer):
    vector = encoder.encode(EXAMPLE, output_layer=layer)
    assert len(vector) == width(layer)
    per_token = encoder.model.embed([EXAMPLE], "elmo" if layer == "default" else layer)[0]
    np.testing.assert_allclose(vector, per_token.astype(np.float64).mean(axis=0), rtol=0, atol=2e-6)


@pytest.mark.parametrize("layer", LAYERS)
def test_first_token_pooling_is_vectorhubs(encoder, fixture_dir, layer):
    vector = encoder.encode(EXAMPLE, output_layer=layer, pooling="first")
    if layer == "default":  # TF Hub's default is pooled already: same for both poolings
        np.testing.assert_array_equal(vector, encoder.encode(EXAMPLE, output_layer=layer))
        return
    first = encoder.model.embed([EXAMPLE], layer)[0][0]
    np.testing.assert_array_equal(vector, first.tolist())
    with Elmo2Vec(fixture_dir, pooling="first") as vectorhub_like:
        np.testing.assert_array_equal(vectorhub_like.encode(EXAMPLE, output_layer=layer), vector)
        assert vectorhub_like.bulk_encode([EXAMPLE], output_layer=layer) == [vector]


@pytest.mark.parametrize("layer", LAYERS)
def test_bulk_encode_matches_encode(encoder, layer):
    vectors = encoder.bulk_encode(SENTENCES, output_layer=layer)
    assert isinstance(vectors, list) and len(vectors) == len(SENTENCES)
    for text, vector in zip(SENTENCES, vectors):
        assert isinstance(vector, list) and len(vector) == width(layer)
        np.testing.assert_allclose(vector, encoder.encode(text, output_layer=layer), rtol=0, atol=1e-6)


def test_bulk_encode_threads_and_chunks_change_nothing(encoder):
    texts = SENTENCES * 7
    reference = encoder.bulk_encode(texts)
    for threads, chunks in ((1, 1), (3, 2), (4, 100), (2, 5)):
        got = encoder.bulk_encode(texts, threads=threads, chunks=chunks)
        np.testing.assert_allclose(got, reference, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(encoder.bulk_encode(iter(texts)), reference)
    np.testing.assert_array_equal(encoder.bulk_encode(np.array(texts)), reference)


def test_trainable_model_has_no_effect(fixture_dir, encoder):
    with Elmo2Vec(fixture_dir, trainable_model=False) as frozen:
        assert frozen.trainable_model is False
        assert frozen.encode(EXAMPLE) == encoder.encode(EXAMPLE)


def test_sentence_vectors_are_contextual(encoder):
    """Mean pooling: different sentences give different vectors (first-token pooling would give
    the same vector for every sentence starting with the same word in the context-free layer)."""
    a = encoder.encode("The bank of the river .", "word_emb", pooling="first")
    b = encoder.encode("The loan from a bank .", "word_emb", pooling="first")
    assert a == b
    assert encoder.encode("The bank of the river .", "word_emb") != encoder.encode("The loan from a bank .", "word_emb")


def test_texts_without_tokens_give_zero_vectors(encoder):
    """Issue #15: an empty text is not an error; its vector is zeros (every layer, both poolings)."""
    assert encoder.encode("") == [0.0] * encoder.vector_length
    fine, blank = encoder.bulk_encode(["fine", "   "])
    assert blank == [0.0] * encoder.vector_length and fine == encoder.encode("fine")
    assert encoder.encode(" ", "word_emb", pooling="first") == [0.0] * encoder.model.token_dim
    assert encoder.bulk_encode([]) == []


def test_errors_raise_instead_of_returning_placeholder_vectors(encoder):
    with pytest.raises(elmo.InvalidInputError, match="UTF-8"):
        encoder.encode("a \ud800 b")
    with pytest.raises(elmo.InvalidArgumentError, match="text must be a str"):
        encoder.encode(["a list"])
    with pytest.raises(elmo.InvalidArgumentError, match="texts must be a list of str"):
        encoder.bulk_encode("one string")
    with pytest.raises(elmo.InvalidArgumentError, match="text 1 is a int"):
        encoder.bulk_encode(["a", 1])
    with pytest.raises(elmo.InvalidArgumentError, match="unknown output_layer 'all'"):
        encoder.encode("a", output_layer="all")
    with pytest.raises(elmo.InvalidArgumentError, match="unknown output_layer 'lstm_outputs3'"):
        encoder.encode("a", output_layer="lstm_outputs3")
    with pytest.raises(elmo.InvalidArgumentError, match="unknown pooling"):
        encoder.encode("a", pooling="max")
    with pytest.raises(elmo.InvalidArgumentError, match="threads must be a positive int"):
        encoder.bulk_encode(["a"], threads=0)
    with pytest.raises(elmo.InvalidArgumentError, match="unknown pooling"):
        Elmo2Vec("unused", pooling="last")


def test_missing_local_model_is_the_librarys_error(tmp_path):
    with pytest.raises(elmo.ElmoIOError, match="model not found"):
        Elmo2Vec(str(tmp_path / "missing"))


def test_weights_file_with_options(fixture_dir, encoder, tmp_path):
    weights = tmp_path / "w.hdf5"
    os.symlink(os.path.join(fixture_dir, "lm_weights.hdf5"), weights)
    with Elmo2Vec(str(weights), options=os.path.join(fixture_dir, "options.json")) as e:
        assert e.encode(EXAMPLE) == encoder.encode(EXAMPLE)


def test_encode_documents(encoder):
    documents = [{"title": "The bank of the river ."}, {"other": 1}, {"meta": {"title": "A loan ."}}]
    encoder.encode_documents(["title", "meta.title"], documents)
    assert documents[0]["title_elmo_vector_"] == encoder.encode("The bank of the river .")
    assert "title_elmo_vector_" not in documents[1]
    assert documents[2]["meta.title_elmo_vector_"] == encoder.encode("A loan .")
    assert list(Elmo2Vec.chunk([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
