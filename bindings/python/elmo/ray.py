"""Embed a text column with Ray Data: ``elmo.ray.Embedder`` for ``Dataset.map_batches``.

    import ray, elmo.ray
    ds = ray.data.read_parquet("texts/")
    out = ds.map_batches(elmo.ray.Embedder, batch_format="pyarrow", concurrency=2, num_cpus=1,
                         fn_constructor_kwargs={"text_col": "text", "model": "/shared/models/original.elmo",
                                                "threads": 1})
    out.write_parquet("embedded/")

Ray runs a callable class as a pool of actors (``concurrency`` of them): each actor loads the
model once, in its constructor, and embeds every batch it is given. Batches may be Arrow
tables (``batch_format="pyarrow"``, Ray Data's own format: no conversion) or pandas frames
(``batch_format="pandas"``); the result has the same rows with the vector column added, as
:func:`elmo.arrow.embed_table` and :func:`elmo.dask.embed_partition` describe (nulls,
empty texts and refused rows included). Vectors are bit-identical to ``elmo.Model.embed``.
Give each actor ``num_cpus`` cores and the same number as ``threads``.

This module does not import ray (Ray imports it on the workers); install Ray yourself
(``pip install 'libelmo[ray]'`` adds ``ray[data]``).
"""

from __future__ import annotations

from typing import Optional

from ._rows import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, open_model, output_ndim
from .errors import InvalidArgumentError

__all__ = ["Embedder"]


class Embedder:
    """A ``map_batches`` callable class: the model is loaded once per actor (see the module)."""

    def __init__(self, text_col: str = "text", model=None, output: str = "default", output_col: str = "embedding",
                 *, error_col: Optional[str] = None, precision: str = "fp32", threads: Optional[int] = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
                 mix_weights=None, gamma: Optional[float] = None, layer_norm: Optional[bool] = None):
        output_ndim(output)  # a wrong output name fails when the actor starts, not on the first batch
        self.text_col = text_col
        self.model = open_model(model, precision)
        self.options = dict(output=output, output_col=output_col, error_col=error_col, threads=threads,
                            batch_size=batch_size, max_batch_tokens=max_batch_tokens, mix_weights=mix_weights,
                            gamma=gamma, layer_norm=layer_norm)

    def __call__(self, batch):
        module = type(batch).__module__.split(".")[0]
        if module == "pyarrow":
            from .arrow import embed_table
            return embed_table(batch, self.text_col, model=self.model, **self.options)
        if module == "pandas":
            from .dask import embed_partition
            return embed_partition(batch, self.text_col, model=self.model, **self.options)
        raise InvalidArgumentError(f"elmo.ray.Embedder takes pyarrow or pandas batches, not {type(batch).__name__}: "
                                   "pass batch_format='pyarrow' (or 'pandas') to map_batches")
