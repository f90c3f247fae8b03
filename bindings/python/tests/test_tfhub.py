"""TF Hub google/elmo modules through Python: the library reads a module directory and its
.tar.gz (Tests/Fixtures/tfhub, a tiny module written by TensorFlow); they give the vectors of
their HDF5 twin, with the module's own scalar mix as the elmo/default mix."""

import json
import os

import numpy as np
import pytest

import elmo
from elmo import Elmo2Vec

from conftest import REPOSITORY, SENTENCES

FIXTURE = os.path.join(REPOSITORY, "Tests", "Fixtures", "tfhub")


@pytest.fixture(scope="module")
def twin():
    if not os.path.isdir(FIXTURE):
        pytest.skip(f"{FIXTURE} not found (tests run from the libelmo repository)")
    with open(os.path.join(FIXTURE, "twin", "mix.json")) as f:
        mix = json.load(f)
    with elmo.Model(os.path.join(FIXTURE, "twin")) as m:
        yield m, mix


@pytest.mark.parametrize("path", ["module", "module.tar.gz"])
def test_module_gives_the_twins_vectors_and_its_own_mix(twin, path):
    twin_model, mix = twin
    try:
        module = elmo.Model(os.path.join(FIXTURE, path))
    except elmo.InvalidModelError as error:
        pytest.fail(f"the library does not read TF Hub modules: {error}")
    with module:
        assert (module.token_dim, module.output_dim, module.output_layer_count) == (4, 8, 3)
        for a, b in zip(module.embed(SENTENCES, "all"), twin_model.embed(SENTENCES, "all")):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
        for output in ("elmo", "default"):
            expected = twin_model.embed(SENTENCES, output, mix_weights=mix["weights"], gamma=mix["gamma"])
            for a, b in zip(module.embed(SENTENCES, output), expected):
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_elmo2vec_on_a_local_module(twin):
    twin_model, mix = twin
    with Elmo2Vec(os.path.join(FIXTURE, "module")) as encoder:
        assert encoder.vector_length == 8
        expected = twin_model.embed(["hello world"], "default", mix_weights=mix["weights"], gamma=mix["gamma"])[0]
        np.testing.assert_allclose(encoder.encode("hello world"), expected, rtol=0, atol=1e-6)
