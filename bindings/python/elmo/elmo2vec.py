"""``Elmo2Vec``: vectorhub's ELMo encoder API on libelmo (no TensorFlow).

Drop-in for ``vectorhub.encoders.text.tfhub.Elmo2Vec``::

    from elmo import Elmo2Vec
    encoder = Elmo2Vec()                     # TF Hub google/elmo/3 = the original model
    encoder.encode("I enjoy taking long walks along the beach with my dog.")   # 1024 floats
    encoder.bulk_encode(["A river bank .", "A bank loan ."], output_layer="default")

Differences from vectorhub, on purpose:

- Sentence vectors of the per-token layers (``word_emb``, ``lstm_outputs1``,
  ``lstm_outputs2``, ``elmo``) are the **mean over the sentence's tokens**. vectorhub returned
  the first token's vector (``[0][0]``); pass ``pooling="first"`` (to the constructor or per
  call) to get exactly that. ``default`` is the same either way: TF Hub's mean of ``elmo``.
- Errors raise :class:`elmo.ElmoError` (vectorhub's ``catch_vector_errors`` returned vectors
  of 1e-7 by default, hiding failures).
- Texts are split on any whitespace (``str.split()``); TF Hub split on single spaces, which
  only differs for texts with tabs, newlines or runs of spaces.
- ``word_emb`` vectors have ``model.token_dim`` values (512 for the original model), the
  other layers ``vector_length`` (1024), as in TF Hub.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

from ._batch import is_batch_like
from ._owner import ModelOwner
from .errors import InvalidArgumentError
from .model import Model

POOLINGS = ("mean", "first")


def _check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise InvalidArgumentError(f"unknown pooling {pooling!r}: use 'mean' (libelmo's default) or 'first' "
                                   "(vectorhub's behaviour: the first token's vector)")
    return pooling


class Elmo2Vec(ModelOwner):
    """ELMo sentence vectors with vectorhub's ``Elmo2Vec`` interface.

    ``model_url``: TF Hub's ``https://tfhub.dev/google/elmo/3`` (the default) or ``/2``, with or
    without ``?tf-hub-format=compressed``, or their Kaggle addresses: the module from TF Hub's cache
    (``$TFHUB_CACHE_DIR``) when it is there, else as :mod:`elmo.resolve` says; a model name
    (``small``, ``medium``, ``original``, ``original5.5B``); or a local path: a model directory,
    weights file, native model file or TF Hub module directory, loaded directly and offline.
    ``trainable_model`` is accepted for compatibility and has no effect: inference never
    trains, and the mix weights TF Hub made trainable are the model's own.
    ``pooling``: ``"mean"`` (default) or ``"first"`` (vectorhub's first-token vectors).
    ``options``: the options JSON when ``model_url`` is a weights file without one beside it.
    ``precision``: ``"fp32"`` (default; exact), ``"bf16"`` (bfloat16 weights: half the memory,
    about twice as fast on CPUs with AVX512_BF16, vectors within cosine 0.999 of fp32) or
    ``"stored"`` (what the model file holds); see :class:`elmo.Model`.
    """

    #: The TF Hub addresses vectorhub lists, with their vector length.
    urls: Dict[str, Dict[str, int]] = {
        "https://tfhub.dev/google/elmo/3": {"vector_length": 1024},
        "https://tfhub.dev/google/elmo/2": {"vector_length": 1024},
    }

    def __init__(self, model_url: str = "https://tfhub.dev/google/elmo/3", trainable_model: bool = True, *,
                 pooling: str = "mean", options: Optional[str] = None, progress: Optional[bool] = None,
                 precision: str = "fp32"):
        self.model_url = model_url
        self.trainable_model = trainable_model
        self.pooling = _check_pooling(pooling)
        self.model = Model(model_url, options=options, progress=progress, precision=precision)
        #: Width of every output layer but ``word_emb``.
        self.vector_length = self.model.output_dim

    @property
    def __name__(self) -> str:
        """vectorhub's model name (used in ``encode_documents`` field names)."""
        return "elmo"

    @property
    def output_layers(self) -> List[str]:
        """The output layers this model has, as TF Hub names them."""
        return [name for name in self.model.output_names if name != "all"]

    # ---- encoding -------------------------------------------------------------------------

    def encode(self, text: str, output_layer: str = "elmo", pooling: Optional[str] = None) -> List[float]:
        """One text's vector (a list of floats): ``output_layer`` pooled over its tokens. A text
        without tokens (``""``, whitespace only) gives a vector of zeros."""
        if not isinstance(text, str):
            raise InvalidArgumentError(f"text must be a str, not {type(text).__name__} (use bulk_encode for lists)")
        return self._encode([text], output_layer, pooling)[0]

    def bulk_encode(self, texts: Sequence[str], output_layer: str = "elmo", pooling: Optional[str] = None,
                    threads: int = 1, chunks: int = 100) -> List[List[float]]:
        """Vectors of many texts (a list of lists of floats), in order.

        ``chunks``: texts per library call (vectorhub's chunk size). ``threads``: how many
        chunks are embedded at once, each thread with its own session on the shared model.
        Any number of texts; texts without tokens give zero vectors.
        """
        if not is_batch_like(texts):
            raise InvalidArgumentError(f"texts must be a list of str, not {type(texts).__name__}")
        texts = list(texts)
        for name, value in (("threads", threads), ("chunks", chunks)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be a positive int, not {value!r}")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidArgumentError(f"text {i} is a {type(text).__name__}, not a str")
        if len(texts) == 0:
            self._encode(texts, output_layer, pooling)  # checks the arguments
            return []
        parts = list(self.chunk(texts, chunks))
        if threads == 1 or len(parts) == 1:
            results = [self._encode(part, output_layer, pooling) for part in parts]
        else:
            with ThreadPoolExecutor(max_workers=min(threads, len(parts))) as pool:
                results = list(pool.map(lambda part: self._encode(part, output_layer, pooling), parts))
        return [vector for part in results for vector in part]

    def _encode(self, texts: List[str], output_layer: str, pooling: Optional[str]) -> List[List[float]]:
        pooling = self.pooling if pooling is None else _check_pooling(pooling)
        if output_layer == "all" or output_layer not in self.output_layers:
            raise InvalidArgumentError(f"unknown output_layer {output_layer!r}: use one of "
                                       f"{', '.join(self.output_layers)}")
        if output_layer == "default" or (output_layer == "elmo" and pooling == "mean"):
            # The mean of `elmo` over the tokens is TF Hub's `default`, computed by the library.
            vectors = self.model.embed(texts, "default")
        elif pooling == "mean":
            vectors = [a.mean(axis=0, dtype=np.float64).astype(np.float32) if len(a) else np.zeros(a.shape[1:], np.float32)
                       for a in self.model.embed(texts, output_layer)]
        else:
            vectors = [a[0] if len(a) else np.zeros(a.shape[1:], np.float32) for a in self.model.embed(texts, output_layer)]
        return [v.tolist() for v in vectors]

    # ---- vectorhub helpers ------------------------------------------------------------------

    @staticmethod
    def chunk(lst: Sequence, chunk_size: int) -> Iterator[Sequence]:
        """Consecutive slices of ``chunk_size`` items (vectorhub's ``Base2Vec.chunk``)."""
        for i in range(0, len(lst), chunk_size):
            yield lst[i:i + chunk_size]

    def encode_documents(self, fields: Sequence[str], documents: List[dict], chunks: int = 100) -> List[dict]:
        """Adds ``<field>_elmo_vector_`` (the ``elmo`` vector of the field's text) to every document
        that has the field (dotted names reach into nested dicts), as vectorhub does; documents
        without it are left as they are. Returns the documents."""
        for field in fields:
            holders = [(d, _get_field(d, field)) for d in documents]
            present = [(d, text) for d, text in holders if text is not None]
            if not present:
                continue
            vectors = self.bulk_encode([text for _, text in present], chunks=chunks)
            for (document, _), vector in zip(present, vectors):
                document[f"{field}_{self.__name__}_vector_"] = vector
        return documents

    def __repr__(self) -> str:
        return f"<elmo.Elmo2Vec {self.model_url!r} vector_length={self.vector_length} pooling={self.pooling!r}>"


def _get_field(document: dict, field: str):
    value = document
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value
