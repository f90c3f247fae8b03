"""Embed a text column of an Arrow table: ``elmo.arrow.embed_table``.

    import pyarrow as pa, elmo.arrow
    table = pa.table({"id": [1, 2, 3], "text": ["The bank of the river .", None, ""]})
    out = elmo.arrow.embed_table(table, "text", model="model.elmo")   # + "embedding": list<float32>

The result holds the same rows, in order, with the vector column added: ``list<float32>``
for ``default`` (one sentence vector), ``list<list<float32>>`` (one inner list per token) for
``elmo``, ``word_emb`` and ``lstm_outputs<k>``, ``list<list<list<float32>>>`` (layer, token)
for ``all``. A null text gives null; a text with no tokens ("", whitespace) gives the zero
vector for ``default`` and an empty list for the per-token outputs; a row the library
refuses (e.g. more tokens than a session allows) gives null, with its message in
``error_col`` if you name one. No row makes the call fail. Every vector is bit-identical to
``elmo.Model.embed([text], output)[0]``.

pyarrow is optional: ``pip install 'libelmo[arrow]'``. This module is the only one that
imports it (``import elmo`` does not).
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Union

import numpy as np

try:
    import pyarrow as pa
except ImportError as _error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("elmo.arrow needs pyarrow: pip install 'libelmo[arrow]' "
                      f"(or pip install pyarrow) [{_error}]") from _error

from ._rows import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, embed_rows, open_model, output_ndim
from .errors import InvalidArgumentError

__all__ = ["embed_table", "embed_batches", "output_type"]

#: Largest output of one result batch, in floats (256 MB). Larger inputs are cut into several
#: output batches: it bounds a worker's memory and keeps list offsets within Arrow's int32.
MAX_BATCH_FLOATS = 64 * 1024 * 1024


def output_type(output: str = "default") -> "pa.DataType":
    """The Arrow type of the vector column for ``output``."""
    dtype = pa.float32()
    for _ in range(output_ndim(output)):
        dtype = pa.list_(dtype)
    return dtype


def _to_list_array(results: List[Optional[np.ndarray]], ndim: int) -> "pa.Array":
    """Per-row float32 arrays (all of ``ndim`` dimensions) or None as one nested list array."""
    valid = [r for r in results if r is not None]
    values = (np.concatenate([r.reshape(-1) for r in valid]) if valid else np.zeros(0, dtype=np.float32))
    array: pa.Array = pa.array(values, type=pa.float32())
    # Innermost level first: level k holds, for each row, prod(shape[:k]) lists of shape[k] items.
    for level in range(ndim - 1, 0, -1):
        lengths = [np.full(int(np.prod(r.shape[:level])), r.shape[level], dtype=np.int64) for r in valid]
        offsets = np.concatenate([[0]] + lengths).cumsum() if lengths else np.zeros(1, dtype=np.int64)
        array = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), array)
    # The row level, where the nulls are: a validity bitmap (from_buffers: works with every
    # pyarrow, where from_arrays(mask=) is recent).
    lengths = np.array([0 if r is None else r.shape[0] for r in results], dtype=np.int64)
    offsets = np.concatenate([[0], lengths.cumsum()]).astype(np.int32)
    valid_rows = np.array([r is not None for r in results], dtype=bool)
    nulls = len(results) - int(valid_rows.sum())
    validity = pa.py_buffer(np.packbits(valid_rows, bitorder="little").tobytes()) if nulls else None
    return pa.Array.from_buffers(pa.list_(array.type), len(results), [validity, pa.py_buffer(offsets.tobytes())],
                                 null_count=nulls, children=[array])


def _text_values(column: "pa.Array", name: str) -> list:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            or getattr(pa.types, "is_string_view", lambda t: False)(column.type) or pa.types.is_null(column.type)):
        raise InvalidArgumentError(f"column {name!r} is {column.type}, not a string column")
    return column.to_pylist()


def _floats_per_row(text, output_dim: int, ndim: int, layers: int) -> int:
    if not isinstance(text, str):
        return 0
    if ndim == 1:
        return output_dim
    return max(len(text.split()), 1) * output_dim * (layers if ndim == 3 else 1)


def _embed_record_batch(batch: "pa.RecordBatch", text_column: str, output_col: str, error_col: Optional[str],
                        model, output: str, options: dict) -> Iterator["pa.RecordBatch"]:
    if text_column not in batch.schema.names:
        raise InvalidArgumentError(f"no column {text_column!r} (columns: {', '.join(batch.schema.names)})")
    for name in (output_col, error_col):
        if name is not None and name in batch.schema.names:
            raise InvalidArgumentError(f"the input already has a column {name!r}: choose another output_col/error_col")
    texts = _text_values(batch.column(batch.schema.get_field_index(text_column)), text_column)
    ndim = output_ndim(output)
    # Slices whose output stays under MAX_BATCH_FLOATS (a row larger than that is a slice alone).
    start, floats = 0, 0
    bounds = []
    for i, text in enumerate(texts):
        size = _floats_per_row(text, model.output_dim, ndim, model.output_layer_count)
        if i > start and floats + size > MAX_BATCH_FLOATS:
            bounds.append((start, i))
            start, floats = i, 0
        floats += size
    bounds.append((start, len(texts)))
    for start, stop in bounds:
        results, errors = embed_rows(texts[start:stop], model, output, **options)
        part = batch.slice(start, stop - start)
        columns = list(part.columns) + [_to_list_array(results, ndim)]
        fields = list(part.schema) + [pa.field(output_col, output_type(output))]
        if error_col is not None:
            columns.append(pa.array(errors, type=pa.string()))
            fields.append(pa.field(error_col, pa.string()))
        yield pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=batch.schema.metadata))


def embed_batches(batches: Iterable["pa.RecordBatch"], text_column: str, model=None, output: str = "default",
                  output_col: str = "embedding", *, error_col: Optional[str] = None, precision: str = "fp32",
                  threads: Optional[int] = None, batch_size: int = DEFAULT_BATCH_SIZE,
                  max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS, mix_weights=None,
                  gamma: Optional[float] = None, layer_norm: Optional[bool] = None) -> Iterator["pa.RecordBatch"]:
    """Lazily embeds a stream of record batches (what Spark's ``mapInArrow`` and Ray hand a
    function); see :func:`embed_table` for the arguments. A large input batch may come out as
    several batches (each under 256 MB of vectors); the rows stay in order."""
    elmo_model = open_model(model, precision)
    options = dict(threads=threads, batch_size=batch_size, max_batch_tokens=max_batch_tokens,
                   mix_weights=mix_weights, gamma=gamma, layer_norm=layer_norm)
    for batch in batches:
        yield from _embed_record_batch(batch, text_column, output_col, error_col, elmo_model, output, options)


def embed_table(table_or_batches: Union["pa.Table", "pa.RecordBatch", Iterable["pa.RecordBatch"]],
                text_column: str, model=None, output: str = "default", output_col: str = "embedding", *,
                error_col: Optional[str] = None, precision: str = "fp32", threads: Optional[int] = None,
                batch_size: int = DEFAULT_BATCH_SIZE, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
                mix_weights=None, gamma: Optional[float] = None, layer_norm: Optional[bool] = None):
    """The rows of ``table_or_batches`` with the embedding of ``text_column`` added as ``output_col``.

    ``table_or_batches``: a ``pyarrow.Table`` (returns a Table), a ``RecordBatch`` (returns a
    RecordBatch) or an iterable of RecordBatches (returns an iterator of them, lazily).
    ``model``: an :class:`elmo.Model`, or a path or model name loaded once per process
    (:func:`elmo.shared_model`, with ``precision``). ``output``: ``default`` (the sentence
    vector), ``elmo``, ``word_emb``, ``lstm_outputs<k>`` or ``all``; ``mix_weights``,
    ``gamma``, ``layer_norm`` as for :meth:`elmo.Model.embed`. ``error_col``: also add a string
    column holding, for each row that came out null although it held a value, why.
    ``threads``: threads per library call (None: the model's default, every core).
    ``batch_size`` / ``max_batch_tokens``: most texts / tokens per library call.
    """
    arguments = dict(model=model, output=output, output_col=output_col, error_col=error_col,
                     precision=precision, threads=threads, batch_size=batch_size,
                     max_batch_tokens=max_batch_tokens, mix_weights=mix_weights, gamma=gamma,
                     layer_norm=layer_norm)
    if isinstance(table_or_batches, pa.Table):
        table = table_or_batches
        parts = list(embed_batches(table.to_batches(), text_column, **arguments))
        if not parts:  # no batches: an empty table still gets the column
            empty = pa.RecordBatch.from_pylist([], schema=table.schema)
            parts = list(embed_batches([empty], text_column, **arguments))
        return pa.Table.from_batches(parts)
    if isinstance(table_or_batches, pa.RecordBatch):
        parts = list(embed_batches([table_or_batches], text_column, **arguments))
        if len(parts) == 1:
            return parts[0]
        return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]
    if isinstance(table_or_batches, (str, bytes)) or not hasattr(table_or_batches, "__iter__"):
        raise InvalidArgumentError("table_or_batches must be a pyarrow Table, a RecordBatch or an iterable of "
                                   f"RecordBatches, not {type(table_or_batches).__name__}")
    return embed_batches(table_or_batches, text_column, **arguments)
