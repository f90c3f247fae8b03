"""One loaded model per process, reused by every task that runs in it.

Spark, Dask and Ray run many small tasks in a few long-lived worker processes. Loading the
model in each task would repeat the load (0.3 s and ~400 MB for the original model's HDF5
file) thousands of times; :func:`shared_model` loads it on the first call in a process and
returns the same :class:`elmo.Model` afterwards. A model is thread-safe, so tasks running on
several threads of one process share it; each thread embeds through its own session
(:func:`thread_session`).

Converting the model once to the native ``.elmo`` file (``elmo.Model(p).save_native(...)``)
and putting it on storage every worker reads makes the load itself nearly free: the file is
memory-mapped, so all processes on a host share one copy of the weights in the page cache.
"""

from __future__ import annotations

import os
import threading
from typing import Dict, Optional, Tuple

from .model import Model, PathLike, Session

_lock = threading.Lock()
_models: Dict[Tuple, Model] = {}
_loads = 0
_local = threading.local()


def _forget_after_fork() -> None:
    # A forked child (Dask's or multiprocessing's process pools) must not use the parent's
    # model: its library state belongs to the parent. The child loads its own on first use;
    # the parent's objects are dropped without being freed (they are the parent's to free).
    global _lock, _models, _loads, _local
    _lock = threading.Lock()
    _models = {}
    _loads = 0
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _path_key(path) -> str:
    """A local path as its resolved absolute form (two spellings of one file share a model);
    anything else (a model name such as ``original``) as given."""
    text = os.fsdecode(os.fspath(path)) if isinstance(path, (str, bytes, os.PathLike)) else path
    if isinstance(text, str) and os.path.exists(text):
        return os.path.realpath(text)
    return text


def shared_model(path: PathLike, options: Optional[PathLike] = None, *, precision: str = "fp32",
                 token_cache_bytes: Optional[int] = None, progress: Optional[bool] = False) -> Model:
    """The process's :class:`elmo.Model` for ``path``, loaded on the first call and reused.

    The key is (the resolved path, the resolved ``options`` path, ``precision``,
    ``token_cache_bytes``): a different precision is a different model. Threads are not part
    of the key: give them per session (:func:`thread_session`, or ``model.session(threads=)``).
    The model stays loaded until :func:`release_shared_models` or the process ends; do not
    ``close()`` it yourself, other tasks use it.
    """
    key = (_path_key(path), None if options is None else _path_key(options), precision, token_cache_bytes)
    model = _models.get(key)
    if model is not None and not model.closed:
        return model
    global _loads
    with _lock:  # one load even when several threads ask at once
        model = _models.get(key)
        if model is None or model.closed:
            model = Model(path, options, precision=precision, token_cache_bytes=token_cache_bytes,
                          progress=progress)
            _models[key] = model
            _loads += 1
    return model


def thread_session(model: Model, threads: Optional[int] = None) -> Session:
    """The calling thread's stateless session on ``model`` with ``threads`` threads per call
    (None: the model's default), made on first use and reused by later tasks on this thread."""
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    key = (id(model), threads)
    entry = sessions.get(key)
    if entry is not None and entry[0] is model and not entry[1].closed:
        return entry[1]
    session = model.session(threads=threads)
    # The model is kept beside its session so that id(model) cannot be reused by another model.
    sessions[key] = (model, session)
    return session


def shared_model_loads() -> int:
    """How many models this process has loaded through :func:`shared_model` (for tests and
    logs: with one model it stays 1 however many tasks ran)."""
    return _loads


def release_shared_models() -> None:
    """Closes every shared model of this process: the calling thread's sessions on them now,
    other threads' sessions when those threads end (a session keeps its weights alive)."""
    with _lock:
        models = list(_models.values())
        _models.clear()
    for _, session in getattr(_local, "sessions", {}).values():
        session.close()
    _local.sessions = {}
    for model in models:
        model.close()
