"""Native model files, the token-layer cache and the thread count through Python."""
import numpy as np
import pytest

import elmo
from conftest import SENTENCES


def test_save_native_round_trip_is_bit_identical(model, tmp_path):
    path = tmp_path / "fixture.elmo"
    model.save_native(path)
    expected = model.embed(SENTENCES)
    with elmo.Model(path) as native:
        got = native.embed(SENTENCES)
        assert (native.token_dim, native.output_dim, native.output_layer_count) == \
            (model.token_dim, model.output_dim, model.output_layer_count)
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))


def test_save_native_errors(model, tmp_path):
    with pytest.raises(elmo.ElmoIOError):
        model.save_native(tmp_path / "missing" / "dir" / "m.elmo")
    with pytest.raises(elmo.ElmoError):
        model.save_native(42)


def test_cache_counts_and_can_be_disabled(fixture_dir):
    with elmo.Model(fixture_dir) as cached, elmo.Model(fixture_dir, token_cache_bytes=0) as uncached:
        assert cached.cache_stats() == {"hits": 0, "misses": 0, "entries": 0}
        first = cached.embed(SENTENCES)
        stats = cached.cache_stats()
        assert stats["misses"] > 0 and stats["entries"] == stats["misses"]
        second = cached.embed(SENTENCES)
        again = cached.cache_stats()
        assert again["misses"] == stats["misses"] and again["hits"] > stats["hits"]
        plain = uncached.embed(SENTENCES)
        assert uncached.cache_stats()["entries"] == 0
        for a, b, c in zip(first, second, plain):
            assert np.array_equal(a, b) and np.array_equal(a, c)
    with pytest.raises(elmo.ElmoError):
        elmo.Model(fixture_dir, token_cache_bytes=-1)


def test_thread_count_never_changes_a_bit(fixture_dir, model):
    expected = model.embed(SENTENCES)
    with elmo.Model(fixture_dir, threads=1) as one:
        with one.session() as s:
            assert s.threads == 1
            got = s.embed(SENTENCES)
        assert all(np.array_equal(a, b) for a, b in zip(expected, got))
        with one.session(threads=3) as s:
            assert s.threads == 3
            assert all(np.array_equal(a, b) for a, b in zip(expected, s.embed(SENTENCES)))
    with pytest.raises(elmo.ElmoError):
        model.session(threads=257)
    with pytest.raises(elmo.ElmoError):
        elmo.Model(fixture_dir, threads=-1)
