"""Bad input raises elmo.ElmoError (the right subclass, with the library's own message where
the library is the one that notices); nothing crashes, nothing returns placeholder vectors."""

import os

import pytest

import elmo


def raises(cls, status_name, fragment):
    """pytest.raises for an ElmoError subclass whose message contains `fragment`."""
    class Check:
        def __enter__(self):
            self.context = pytest.raises(cls)
            self.info = self.context.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.context.__exit__(*exc)
            error = self.info.value
            assert isinstance(error, elmo.ElmoError)
            assert error.status_name == status_name, error
            assert fragment in error.message, error.message
            return handled
    return Check()


# ---- empty input: the library's messages ------------------------------------------------------

def test_empty_batch_and_sentences_are_not_errors(model):
    """Issue #15: empty input gives empty results (tested in detail in test_any_size.py)."""
    assert model.embed([]) == []
    assert model.embed(["A bank .", "   "])[1].shape == (3, 0, 32)
    assert model.embed([["A"], []], "default")[1].tolist() == [0.0] * 32


def test_stateful_sessions_still_refuse_empty_sentences(model):
    """A stateful call's rows carry states by position, so it is never split or filtered."""
    with model.session(stateful=True) as session:
        with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "elmo_texts_output_size: empty batch"):
            session.embed([])
        with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "elmo_tokens_output_size"):
            session.embed([["A"], []])


def test_empty_token(model):
    with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "elmo_embed_tokens"):
        model.embed([["A", ""]])


def test_invalid_utf8_is_reported_by_the_library(model):
    with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "UTF-8"):
        model.embed(["a \ud800 b"])  # a lone surrogate encodes to invalid UTF-8
    with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "UTF-8"):
        model.embed([[b"\xff\xfe"]])


def test_nul_characters_are_refused_before_c_would_truncate_them(model):
    with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "NUL"):
        model.embed(["a\0b"])
    with raises(elmo.InvalidInputError, "ELMO_ERR_INVALID_INPUT", "NUL"):
        model.embed([["a", "b\0"]])


# ---- wrong types ------------------------------------------------------------------------------

@pytest.mark.parametrize("sentences,fragment", [
    ("The bank .", "not a single str"),
    (b"The bank .", "not a single bytes"),
    (42, "not int"),
    (None, "not NoneType"),
    ([1, 2], "sentence 0 is a int"),
    ([None], "sentence 0 is a NoneType"),
    ([["a", 3]], "sentence 0 token 1 is a int"),
    (["a b", ["c"]], "mix raw texts and token lists"),
    ({"a": 1}, "not dict"),
])
def test_invalid_types(model, sentences, fragment):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", fragment):
        model.embed(sentences)


def test_invalid_argument_errors_are_value_errors_too(model):
    with pytest.raises(ValueError):
        model.embed(42)


# ---- outputs and mixes ------------------------------------------------------------------------

@pytest.mark.parametrize("output", ["elmo2", "lstm_outputs", "lstm_outputsX", "ALL", "", "lstm_outputs-1"])
def test_unknown_output_names(model, output):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "unknown output"):
        model.embed(["a"], output)


def test_output_name_of_wrong_type(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "output must be a str"):
        model.embed(["a"], 3)


@pytest.mark.parametrize("output", ["lstm_outputs0", "lstm_outputs3", "lstm_outputs18446744073709551617"])
def test_lstm_layer_out_of_range_is_the_librarys_message(model, output):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "does not exist: the model's LSTM layers are 1...2"):
        model.embed(["a"], output)


def test_mix_weight_count_is_checked_by_the_library(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "mix_weight_count is 2 but the model has 3"):
        model.embed(["a"], "elmo", mix_weights=[1, 2])


def test_gamma_without_weights_is_the_librarys_message(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "with mix_weights NULL"):
        model.embed(["a"], "elmo", gamma=2.0)


def test_non_finite_mix_is_refused(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "finite"):
        model.embed(["a"], "elmo", mix_weights=[0, float("nan"), 0])


def test_mix_options_on_an_unmixed_output(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "apply to the 'elmo' and 'default'"):
        model.embed(["a"], "lstm_outputs1", mix_weights=[0, 0, 0])


def test_mix_weights_of_wrong_shape(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "one-dimensional"):
        model.embed(["a"], "elmo", mix_weights=[[0, 0, 0]])
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "sequence of numbers"):
        model.embed(["a"], "elmo", mix_weights=["x", "y", "z"])


# ---- limits -----------------------------------------------------------------------------------

def test_session_limits_are_the_librarys(model):
    with model.session(max_sentences=1, stateful=True) as session:
        with raises(elmo.LimitExceededError, "ELMO_ERR_LIMIT_EXCEEDED", "exceeds the limit of 1"):
            session.embed(["a", "b"])
    with model.session(max_tokens_per_sentence=2) as session:
        with raises(elmo.LimitExceededError, "ELMO_ERR_LIMIT_EXCEEDED", ""):
            session.embed([["a", "b", "c"]])


def test_zero_limit_is_the_librarys_message(model):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "max_sentences must be between 1"):
        model.session(max_sentences=0)


def test_limit_of_wrong_type(model):
    for bad in (-1, 2 ** 64, "many", 1.5, True):
        with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "must be an int from 0 to"):
            model.session(max_tokens_per_call=bad)


# ---- model files ------------------------------------------------------------------------------

def test_missing_model_file(tmp_path):
    missing = str(tmp_path / "nothing-here")
    with raises(elmo.ElmoIOError, "ELMO_ERR_IO", f"elmo_model_load: {missing}: model not found"):
        elmo.Model(missing)


def test_missing_options_file(fixture_dir, tmp_path):
    with raises(elmo.ElmoIOError, "ELMO_ERR_IO", "elmo_model_load"):
        elmo.Model(os.path.join(fixture_dir, "lm_weights.hdf5"), options=str(tmp_path / "none.json"))


def test_weights_without_options_beside_them(fixture_dir, tmp_path):
    weights = tmp_path / "lm_weights.hdf5"
    os.symlink(os.path.join(fixture_dir, "lm_weights.hdf5"), weights)
    with raises(elmo.ElmoIOError, "ELMO_ERR_IO", "no options file given and none found beside it"):
        elmo.Model(str(weights))
    # options= names it explicitly.
    with elmo.Model(str(weights), options=os.path.join(fixture_dir, "options.json")) as m:
        assert m.output_dim == 32


def test_not_a_model(fixture_dir, tmp_path):
    fake = tmp_path / "weights.hdf5"
    fake.write_bytes(b"not an hdf5 file at all")
    (tmp_path / "options.json").write_bytes(open(os.path.join(fixture_dir, "options.json"), "rb").read())
    with raises(elmo.InvalidModelError, "ELMO_ERR_INVALID_MODEL", "elmo_model_load"):
        elmo.Model(str(tmp_path))


def test_bad_options_json(fixture_dir, tmp_path):
    (tmp_path / "options.json").write_text("{ not json")
    os.symlink(os.path.join(fixture_dir, "lm_weights.hdf5"), tmp_path / "weights.hdf5")
    with raises(elmo.InvalidModelError, "ELMO_ERR_INVALID_MODEL", "elmo_model_load"):
        elmo.Model(str(tmp_path))


def test_path_of_wrong_type():
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "path must be a str"):
        elmo.Model(42)
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "options must be a str"):
        elmo.Model("x", options=3)


def test_pathlike_and_bytes_paths_work(fixture_dir):
    import pathlib
    with elmo.Model(pathlib.Path(fixture_dir)) as a, elmo.Model(os.fsencode(fixture_dir)) as b:
        assert a.output_dim == b.output_dim == 32


def test_unknown_url(tmp_path):
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "not a model libelmo knows how to fetch"):
        elmo.Model("https://example.com/some/model")
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "version 1 is not known"):
        elmo.Model("https://tfhub.dev/google/elmo/1")


# ---- closed objects ---------------------------------------------------------------------------

def test_closed_model_refuses_calls(fixture_dir):
    m = elmo.Model(fixture_dir)
    m.close()
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "the model is closed"):
        m.embed(["a"])
    with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "the model is closed"):
        m.session()


def test_closed_session_refuses_calls(model):
    s = model.session()
    s.close()
    for call in (lambda: s.embed(["a"]), s.reset, s.release_memory):
        with raises(elmo.InvalidArgumentError, "ELMO_ERR_INVALID_ARGUMENT", "the session is closed"):
            call()
