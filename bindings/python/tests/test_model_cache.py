"""elmo.shared_model: one load per process and key, whatever the number of tasks and threads."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import elmo
from conftest import SENTENCES

OPTIONAL = ("pyarrow", "pandas", "pyspark", "dask", "ray", "torch")


@pytest.fixture
def fresh():
    """No shared model before or after the test."""
    elmo.release_shared_models()
    yield
    elmo.release_shared_models()


def test_one_load_for_many_tasks_and_threads(fixture_dir, fresh):
    loads = elmo.shared_model_loads()
    models = []
    barrier = threading.Barrier(8)

    def task():
        barrier.wait()  # all ask at once: the first loads, the others wait for it
        for _ in range(10):
            models.append(elmo.shared_model(fixture_dir))

    threads = [threading.Thread(target=task) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(models) == 80 and all(m is models[0] for m in models)
    assert elmo.shared_model_loads() == loads + 1


def test_key_is_the_resolved_path_and_precision(fixture_dir, fresh, tmp_path):
    loads = elmo.shared_model_loads()
    link = tmp_path / "link"
    link.symlink_to(fixture_dir)
    spellings = [fixture_dir, fixture_dir + "/", os.path.relpath(fixture_dir), str(link)]
    assert len({id(elmo.shared_model(p)) for p in spellings}) == 1
    assert elmo.shared_model_loads() == loads + 1
    bf16 = elmo.shared_model(fixture_dir, precision="bf16")
    assert bf16.precision == "bf16" and bf16 is not elmo.shared_model(fixture_dir)
    assert elmo.shared_model_loads() == loads + 2


def test_shared_vectors_are_the_models(fixture_dir, model, fresh):
    shared = elmo.shared_model(fixture_dir)
    for output in ("default", "elmo"):
        for a, b in zip(shared.embed(SENTENCES, output), model.embed(SENTENCES, output)):
            assert np.array_equal(a, b)


def test_sessions_stay_per_thread(fixture_dir, fresh):
    shared = elmo.shared_model(fixture_dir)
    mine = elmo.thread_session(shared, 1)
    assert elmo.thread_session(shared, 1) is mine and mine.threads == 1
    assert elmo.thread_session(shared, 2) is not mine
    other = []
    thread = threading.Thread(target=lambda: other.append(elmo.thread_session(shared, 1)))
    thread.start()
    thread.join()
    assert other[0] is not mine


def test_release_and_reload(fixture_dir, fresh):
    first = elmo.shared_model(fixture_dir)
    loads = elmo.shared_model_loads()
    elmo.release_shared_models()
    assert first.closed
    second = elmo.shared_model(fixture_dir)
    assert second is not first and not second.closed and elmo.shared_model_loads() == loads + 1


def test_a_forked_child_loads_its_own(fixture_dir):
    # The parent's model belongs to the parent's library state: a fork starts with an empty cache.
    code = ("import os, sys, elmo\n"
            f"m = elmo.shared_model({fixture_dir!r})\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    before = elmo.shared_model_loads()\n"
            f"    c = elmo.shared_model({fixture_dir!r})\n"
            "    ok = before == 0 and elmo.shared_model_loads() == 1 and c is not m and c.embed(['a b'])\n"
            "    os._exit(0 if ok else 3)\n"
            "_, status = os.waitpid(pid, 0)\n"
            "print('child', os.waitstatus_to_exitcode(status), 'parent', elmo.shared_model_loads())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["child", "0", "parent", "1"], result.stdout + result.stderr


def test_import_elmo_imports_no_optional_package():
    code = ("import sys, elmo\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {OPTIONAL!r}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_missing_pandas_names_the_extra():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('pandas', 'pyspark'): raise ImportError('blocked for the test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import elmo\n"
            "for module in ('elmo.dask', 'elmo.spark'):\n"
            "    try:\n"
            "        __import__(module)\n"
            "    except ImportError as e:\n"
            "        print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install 'libelmo[dask]'" in result.stdout and "pip install 'libelmo[spark]'" in result.stdout, \
        result.stdout + result.stderr
