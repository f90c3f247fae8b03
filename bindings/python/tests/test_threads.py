"""Several Python threads embed at once on one model: every result is exactly the
single-threaded one, and the calls really run concurrently (the GIL is released)."""

import threading
import time

import numpy as np

import elmo

from conftest import SENTENCES

THREADS = 4
ROUNDS = 5


def big_batch(n=2500):
    return [" ".join(f"tok{i % 97}x{j}" for j in range(20)) for i in range(n)]


def test_threads_share_a_model_and_get_exact_results(model):
    reference = model.embed(SENTENCES, "all")
    failures = []
    barrier = threading.Barrier(THREADS)

    def work():
        barrier.wait()
        for _ in range(ROUNDS):
            try:
                got = model.embed(SENTENCES, "all")
                if any(not np.array_equal(a, b) for a, b in zip(got, reference)):
                    failures.append("mismatch")
            except Exception as error:  # collected and reported below
                failures.append(repr(error))

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_threads_with_their_own_sessions(model):
    reference = model.embed(SENTENCES, "elmo")
    results = {}

    def work(i):
        with model.session() as s:
            results[i] = [s.embed(SENTENCES, "elmo") for _ in range(ROUNDS)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(THREADS))
    for rounds in results.values():
        for got in rounds:
            for a, b in zip(got, reference):
                np.testing.assert_array_equal(a, b)


def test_the_gil_is_released_during_a_call(model):
    """While one thread is inside a long library call, another Python thread keeps running:
    its longest pause is a small fraction of the call (holding the GIL would stall it for
    the whole call)."""
    texts = big_batch()
    model.embed(texts[:10])  # warm up (allocations, first-call costs)
    beats = []
    stop = threading.Event()

    def heartbeat():
        while not stop.is_set():
            beats.append(time.perf_counter())
            time.sleep(0.001)

    h = threading.Thread(target=heartbeat)
    h.start()
    time.sleep(0.05)
    start = time.perf_counter()
    model.embed(texts, "elmo")
    duration = time.perf_counter() - start
    stop.set()
    h.join()
    during = [b for b in beats if start <= b <= start + duration]
    gaps = np.diff([start] + during + [start + duration])
    assert duration > 0.05, f"the call took only {duration:.3f}s: too short to tell"
    assert gaps.max() < 0.5 * duration, \
        f"the heartbeat stalled {gaps.max():.3f}s of a {duration:.3f}s call: the GIL was held"
    assert len(during) >= 5


def test_calls_from_two_threads_overlap_in_time(model):
    """Wall-clock overlap: each thread's call starts before the other's ends."""
    texts = big_batch(1500)
    model.embed(texts[:10])
    spans = {}
    barrier = threading.Barrier(2)

    def work(i):
        with model.session() as s:
            s.embed(texts[:10])
            barrier.wait()
            t0 = time.perf_counter()
            s.embed(texts, "elmo")
            spans[i] = (t0, time.perf_counter())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a0, a1), (b0, b1) = spans[0], spans[1]
    overlap = min(a1, b1) - max(a0, b0)
    shorter = min(a1 - a0, b1 - b0)
    assert overlap > 0.5 * shorter, f"calls overlapped {overlap:.3f}s of {shorter:.3f}s"


def test_one_session_entered_by_two_threads_is_refused_not_corrupted(model):
    """The library refuses the second thread with SessionBusyError; every call that runs is correct."""
    texts = big_batch(400)
    reference = model.embed(texts[:3], "elmo")
    seen = {"ok": 0, "busy": 0, "wrong": 0, "other": []}
    lock = threading.Lock()
    session = model.session()
    barrier = threading.Barrier(2)

    def work():
        for _ in range(40):
            barrier.wait()  # both threads enter the session together
            try:
                got = session.embed(texts, "elmo")
                wrong = any(not np.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(got[:3], reference))
                with lock:
                    seen["ok"] += 1
                    seen["wrong"] += wrong
            except elmo.SessionBusyError as error:
                with lock:
                    seen["busy"] += 1
                    if "session is already in use" not in error.message:
                        seen["other"].append(error.message)
            except Exception as error:  # reported below
                with lock:
                    seen["other"].append(repr(error))
            barrier.wait()  # both see the same counts before deciding to stop
            with lock:
                done = seen["busy"] >= 1 and seen["ok"] >= 2
            if done:
                break

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.close()
    assert seen["other"] == [] and seen["wrong"] == 0
    assert seen["ok"] >= 2
    assert seen["busy"] >= 1, "two threads entering one session at once were never refused"
