"""Deterministic cleanup: close() and `with` free at once, sessions outlive their model's
close(), nothing is used after it is freed, garbage collection frees forgotten objects."""

import gc
import threading
import time
import weakref

import numpy as np

import elmo

from conftest import SENTENCES


def test_model_context_manager_frees_the_handle(fixture_dir):
    with elmo.Model(fixture_dir) as m:
        handle = m._handle
        m.embed(["a"])
        assert not handle.freed
    assert m.closed and handle.freed
    m.close()  # idempotent
    assert "closed" in repr(m)


def test_session_outlives_its_model(fixture_dir):
    m = elmo.Model(fixture_dir)
    reference = m.embed(SENTENCES, "elmo")
    session = m.session()
    model_handle = m._handle
    m.close()
    assert m.closed
    assert not model_handle.freed, "a live session keeps the model alive"
    for a, b in zip(session.embed(SENTENCES, "elmo"), reference):
        np.testing.assert_array_equal(a, b)
    session.close()
    assert model_handle.freed, "the last session frees the closed model"


def test_model_close_frees_the_sessions_embed_made(fixture_dir):
    m = elmo.Model(fixture_dir)
    m.embed(["a"])
    done = threading.Event()
    t = threading.Thread(target=lambda: (m.embed(["b"]), done.set()))
    t.start()
    t.join()
    assert done.is_set()
    internal = list(m._thread_sessions)
    m.close()
    assert all(s.closed for s in internal)
    assert m._handle.freed


def test_thread_sessions_are_freed_when_their_thread_ends(fixture_dir):
    with elmo.Model(fixture_dir) as m:
        handles = []

        def work():
            m.embed(["a"])
            handles.append(m._local.session._handle)

        t = threading.Thread(target=work)
        t.start()
        t.join()
        gc.collect()
        assert handles[0].freed


def test_garbage_collected_model_and_session_are_freed(fixture_dir):
    m = elmo.Model(fixture_dir)
    s = m.session()
    model_handle, session_handle = m._handle, s._handle
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None
    assert not model_handle.freed
    s.embed(["still works"])
    del s
    gc.collect()
    assert session_handle.freed and model_handle.freed


def test_session_context_manager(model):
    with model.session(stateful=True) as s:
        assert s.stateful and not s.closed
        assert "stateful" in repr(s)
        s.embed(["a b"])
    assert s.closed
    s.close()


def test_close_while_another_thread_is_embedding(model):
    """close() during a call defers the free until the call returns; the call's result is right."""
    texts = [" ".join(f"w{i}x{j}" for j in range(20)) for i in range(2500)]
    reference = model.embed(texts[:3], "elmo")
    session = model.session()
    session.embed(texts[:3])
    result = {}
    started = threading.Event()

    def work():
        started.set()
        try:
            result["value"] = session.embed(texts, "elmo")
        except elmo.InvalidArgumentError as error:  # close() won the race: refused, not crashed
            result["error"] = error

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    time.sleep(0.02)  # the call (a few hundred ms) is normally running by now
    session.close()
    freed_at_close = session._handle.freed
    t.join()
    assert session.closed and session._handle.freed
    if "value" in result:
        assert not freed_at_close, "the session was freed while a call was using it"
        for a, b in zip(result["value"][:3], reference):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    else:
        assert "the session is closed" in result["error"].message


def test_stateful_session_carries_and_resets_state(model):
    with model.session(stateful=True) as s:
        first = s.embed(["The bank of the river ."], "elmo")[0]
        second = s.embed(["The bank of the river ."], "elmo")[0]
        assert np.abs(first - second).max() > 1e-4, "state carried into the second call"
        s.reset()
        np.testing.assert_array_equal(s.embed(["The bank of the river ."], "elmo")[0], first)
    with model.session() as s:  # stateless: no carried state, reset is a no-op
        a = s.embed(["The bank of the river ."], "elmo")[0]
        s.reset()
        s.release_memory()
        np.testing.assert_array_equal(s.embed(["The bank of the river ."], "elmo")[0], a)
        np.testing.assert_array_equal(a, first)


def test_session_limits_are_reported(model):
    with model.session(max_sentences=7, max_tokens_per_sentence=11, max_tokens_per_call=13) as s:
        assert (s.max_sentences, s.max_tokens_per_sentence, s.max_tokens_per_call) == (7, 11, 13)
