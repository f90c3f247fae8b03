"""Rows of a table column to vectors, one result per row whatever the row holds.

The engine adapters (elmo.arrow, elmo.spark, elmo.dask, elmo.ray) all come here. A column
holds texts, nulls and sometimes garbage; a partition must never fail because of one row:

- a null (None; the pandas adapters map NaN/pd.NA here too) gives a null result;
- a text with no tokens ("" or only whitespace) gives the zero vector for ``default`` and an
  empty list of token vectors for the per-token outputs (no call to the library, which refuses
  empty sentences);
- a row the library refuses (too many tokens for the session's limits, a value that is not a
  string, a NUL character) gives a null result and an error message (kept beside the row);
- every other row gives exactly ``Model.embed([text], output)[0]``: libelmo's vectors do not
  depend on the batch a sentence is in, so batching the rows changes no bit.

Rows are embedded in chunks of at most ``batch_size`` texts and ``max_batch_tokens`` tokens
(within the C API's limits: 16384 sentences and 65536 tokens per call). A chunk the library
refuses is split in halves until the refused rows stand alone, so one bad row loses only itself.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _lib
from ._batch import OutputSpec, Shapes
from ._model_cache import shared_model, thread_session
from .errors import ElmoError, InvalidArgumentError
from .model import Model

#: Texts per library call: the batch size at which the benchmark measures throughput.
DEFAULT_BATCH_SIZE = 64
#: Tokens per library call (working memory grows with it: ~14 KB per token, original model).
DEFAULT_MAX_BATCH_TOKENS = 8192


def open_model(model, precision: str = "fp32", options=None) -> Model:
    """``model`` as a Model: a Model as it is, a path or name through the process's cache."""
    if isinstance(model, Model):
        return model
    if model is None:
        raise InvalidArgumentError("model is required: a path every worker can read, a model name or an elmo.Model")
    return shared_model(model, options, precision=precision)


def output_ndim(output: str) -> int:
    """Dimensions of one row's output: 1 for ``default``, 3 for ``all``, 2 for the others."""
    kind = OutputSpec(_lib.output_params, output).kind
    if kind == _lib.OUTPUT_DEFAULT:
        return 1
    return 3 if kind == _lib.OUTPUT_ALL_LAYERS else 2


def empty_result(model: Model, output: str) -> np.ndarray:
    """The result for a text with no tokens: zeros for ``default``, no token rows otherwise."""
    return Shapes(model._handle, OutputSpec(_lib.output_params, output)).empty()


def embed_rows(values: Sequence, model: Model, output: str = "default", *, threads: Optional[int] = None,
               batch_size: int = DEFAULT_BATCH_SIZE, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
               mix_weights=None, gamma: Optional[float] = None, layer_norm: Optional[bool] = None,
               ) -> Tuple[List[Optional[np.ndarray]], List[Optional[str]]]:
    """One float32 array (or None) and one error message (or None) per value; see the module."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be a positive int, not {batch_size!r}")
    if isinstance(max_batch_tokens, bool) or not isinstance(max_batch_tokens, int) or max_batch_tokens < 1:
        raise InvalidArgumentError(f"max_batch_tokens must be a positive int, not {max_batch_tokens!r}")
    session = thread_session(model, threads)
    mix = {"mix_weights": mix_weights, "gamma": gamma, "layer_norm": layer_norm}
    # Checks the output name and mix options once, before any row (a wrong argument is the
    # caller's error, not a bad row).
    OutputSpec(_lib.output_params, output, mix_weights, gamma, layer_norm)
    results: List[Optional[np.ndarray]] = [None] * len(values)
    errors: List[Optional[str]] = [None] * len(values)
    empty = None
    chunk: List[int] = []
    chunk_tokens = 0

    def embed(rows: List[int]) -> None:
        texts = [values[i] for i in rows]
        try:
            arrays = session.embed(texts, output, **mix)
        except ElmoError as error:
            if len(rows) == 1:
                errors[rows[0]] = str(error)
                return
            # Halves until the bad rows stand alone: the good rows still go in large calls
            # (the library checks a call's input before computing, so a refused call is cheap).
            embed(rows[:len(rows) // 2])
            embed(rows[len(rows) // 2:])
            return
        for i, array in zip(rows, arrays):
            results[i] = array

    for i, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, str):
            errors[i] = f"a {type(value).__name__} value, not a str"
            continue
        tokens = len(value.split())
        if tokens == 0:
            if empty is None:
                empty = empty_result(model, output)
            results[i] = empty
            continue
        if chunk and (len(chunk) >= batch_size or chunk_tokens + tokens > max_batch_tokens):
            embed(chunk)
            chunk, chunk_tokens = [], 0
        chunk.append(i)
        chunk_tokens += tokens
    if chunk:
        embed(chunk)
    return results, errors
