"""Embed a text column of a pandas DataFrame, one partition of a Dask DataFrame at a time.

    import dask.dataframe as dd, elmo.dask
    ddf = dd.read_parquet("texts/")
    out = elmo.dask.embed_dataframe(ddf, "text", model="/shared/models/original.elmo")
    # the same as:
    out = ddf.map_partitions(elmo.dask.embed_partition, "text", model="/shared/models/original.elmo",
                             meta=elmo.dask.output_meta(ddf, "text"))
    out.to_parquet("embedded/")

:func:`embed_partition` takes a pandas DataFrame and returns a copy with the vector column
added: one float32 numpy array per row (``(output_dim,)`` for ``default``, ``(tokens,
output_dim)`` for ``elmo`` and the other per-token outputs), or None. A missing text (None,
NaN, ``pd.NA``) gives None; a text with no tokens gives zeros / a ``(0, output_dim)`` array;
a row the library refuses gives None, with the reason in ``error_col`` if you name one. Every
vector is bit-identical to ``elmo.Model.embed([text], output)[0]``. The model is loaded once
per worker process (:func:`elmo.shared_model`): give a path every worker can read, best the
native ``.elmo`` file (memory-mapped: the worker processes of a host share one copy).

With Dask's threaded scheduler every partition runs in one process on a share of the cores:
pass ``threads=1`` and let Dask's threads be the parallelism, or use the distributed
scheduler with one worker process per host and ``threads`` = its cores.

Needs pandas (``pip install 'libelmo[dask]'`` brings pandas and dask); only this module
imports it, and it does not import dask itself.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

try:
    import pandas as pd
except ImportError as _error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("elmo.dask needs pandas (and dask to use it): pip install 'libelmo[dask]' "
                      f"[{_error}]") from _error

from ._rows import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, embed_rows, open_model, output_ndim
from .errors import InvalidArgumentError

__all__ = ["embed_partition", "embed_dataframe", "output_meta"]


def _text_or_none(value):
    """A missing value of any pandas kind (None, NaN, pd.NA, NaT) as None; anything else as is."""
    if isinstance(value, str):
        return value
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return value
    if isinstance(missing, (bool, np.bool_)):
        return None if missing else value
    return value  # array-like: not a text (embed_rows reports it)


def output_meta(df, text_col: str, output_col: str = "embedding", error_col: Optional[str] = None) -> "pd.DataFrame":
    """The empty pandas frame :func:`embed_partition` returns for ``df`` (a Dask or pandas
    DataFrame): Dask's ``meta=`` for ``map_partitions``, so Dask need not run the model to learn it."""
    meta = getattr(df, "_meta", df).iloc[:0].copy()
    if text_col not in meta.columns:
        raise InvalidArgumentError(f"no column {text_col!r} (columns: {', '.join(map(str, meta.columns))})")
    meta[output_col] = pd.Series([], dtype=object, index=meta.index)
    if error_col is not None:
        meta[error_col] = pd.Series([], dtype=object, index=meta.index)
    return meta


def embed_partition(pdf: "pd.DataFrame", text_col: str, model=None, output: str = "default",
                    output_col: str = "embedding", *, error_col: Optional[str] = None, precision: str = "fp32",
                    threads: Optional[int] = None, batch_size: int = DEFAULT_BATCH_SIZE,
                    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS, mix_weights=None,
                    gamma: Optional[float] = None, layer_norm: Optional[bool] = None) -> "pd.DataFrame":
    """``pdf`` with the embedding of ``text_col`` added as ``output_col`` (see the module).

    ``model``: an :class:`elmo.Model`, or a path or model name loaded once per process.
    The other arguments as for :func:`elmo.arrow.embed_table`.
    """
    if text_col not in pdf.columns:
        raise InvalidArgumentError(f"no column {text_col!r} (columns: {', '.join(map(str, pdf.columns))})")
    for name in (output_col, error_col):
        if name is not None and name in pdf.columns:
            raise InvalidArgumentError(f"the DataFrame already has a column {name!r}: choose another name")
    output_ndim(output)  # a wrong output name fails even on an empty partition
    out = pdf.copy(deep=False)
    values = [_text_or_none(v) for v in pdf[text_col].tolist()]
    if values:
        results, errors = embed_rows(values, open_model(model, precision), output, threads=threads,
                                     batch_size=batch_size, max_batch_tokens=max_batch_tokens,
                                     mix_weights=mix_weights, gamma=gamma, layer_norm=layer_norm)
    else:  # Dask probes with empty frames: no model load for those
        results, errors = [], []
    out[output_col] = pd.Series(results, index=pdf.index, dtype=object)
    if error_col is not None:
        out[error_col] = pd.Series(errors, index=pdf.index, dtype=object)
    return out


def embed_dataframe(ddf, text_col: str, model=None, output: str = "default", output_col: str = "embedding",
                    *, error_col: Optional[str] = None, **options):
    """``ddf.map_partitions(embed_partition, ...)`` with its ``meta`` declared (lazy, as Dask is)."""
    return ddf.map_partitions(embed_partition, text_col, model=model, output=output, output_col=output_col,
                              error_col=error_col, meta=output_meta(ddf, text_col, output_col, error_col),
                              **options)
