"""Python sentences to the C arrays the library reads, and its flat output back to numpy.

A batch is either raw texts (``["The bank .", ...]``, each split on whitespace by the
library exactly as ``str.split()`` splits it) or pre-tokenized sentences
(``[["The", "bank", "."], ...]``). Strings are passed as UTF-8; a lone surrogate is passed
through as the invalid UTF-8 it encodes to, so the library reports it with its own message.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable as _IterableABC
from collections.abc import Mapping as _MappingABC
from collections.abc import Sequence as _SequenceABC
from ctypes import c_char_p, c_size_t
from typing import List, Sequence, Tuple

import numpy as np

from .errors import InvalidArgumentError, InvalidInputError, LimitExceededError

_TEXT_TYPES = (str, bytes)

#: The largest size_t (what ctypes would silently wrap larger Python ints into).
SIZE_MAX = 2 ** (8 * ctypes.sizeof(c_size_t)) - 1


def _utf8(value, where: str) -> bytes:
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
    elif isinstance(value, bytes):
        data = value
    else:
        raise InvalidArgumentError(f"{where} is a {type(value).__name__}, not a str")
    if b"\0" in data:
        raise InvalidInputError(f"{where} contains a NUL character, which libelmo's C strings cannot carry")
    return data


def _is_sequence(value) -> bool:
    if isinstance(value, _TEXT_TYPES):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim >= 1
    return isinstance(value, _SequenceABC)


def is_batch_like(value) -> bool:
    """A batch may be any iterable of sentences (list, tuple, numpy array, generator, pandas
    Series...), but not a string or a mapping."""
    if isinstance(value, (str, bytes, _MappingABC)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim >= 1
    return isinstance(value, _IterableABC)


def _check_batch(sentences) -> None:
    if isinstance(sentences, _TEXT_TYPES):
        raise InvalidArgumentError(
            "sentences must be a list of texts or of token lists, not a single "
            f"{type(sentences).__name__}: wrap it in a list ([text])")
    if not is_batch_like(sentences):
        raise InvalidArgumentError(
            f"sentences must be a list of texts or of token lists, not {type(sentences).__name__}")


def _whitespace_tokens(text) -> int:
    """Tokens of a raw text as the library splits it (Python's ``str.split()``; bytes are read
    as UTF-8, invalid bytes kept apart so that the library reports them)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    return len(text.split())


class Sentences:
    """A whole input of any size, before it is cut into library calls: its kind (texts or
    token lists) and every sentence's token count, known up front so that the calls can be
    planned within the session's limits and empty sentences answered without the library."""

    def __init__(self, sentences):
        _check_batch(sentences)
        items = list(sentences)
        raw = [isinstance(item, _TEXT_TYPES) for item in items]
        self.is_texts = all(raw)
        if not self.is_texts and any(raw):
            raise InvalidArgumentError("sentences mix raw texts and token lists: give one kind per batch")
        if self.is_texts:
            encoded = [_utf8(text, f"text {i}") for i, text in enumerate(items)]  # NUL checks before any call
            self.counts = [_whitespace_tokens(text) for text in items]
            items = encoded  # each text encoded and checked once: Batch(..., encoded=True) takes them as they are
        else:
            for i, sentence in enumerate(items):
                if not _is_sequence(sentence):
                    raise InvalidArgumentError(
                        f"sentence {i} is a {type(sentence).__name__}: give a text (str) or a list of tokens")
                items[i] = list(sentence)
            self.counts = [len(tokens) for tokens in items]
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def calls(self, max_sentences: int, max_tokens_per_call: int, max_tokens_per_sentence: int):
        """Groups of the non-empty sentences' indices, one per library call (see plan_calls)."""
        return plan_calls(self.counts, max_sentences, max_tokens_per_call, max_tokens_per_sentence)


def plan_calls(counts: Sequence[int], max_sentences: int, max_tokens_per_call: int, max_tokens_per_sentence: int,
               keep_empty: bool = False):
    """Consecutive groups of the indices of the non-empty sentences (counts[i] tokens; with
    `keep_empty` the empty ones too), each within one call's limits. A sentence that no call
    can hold raises LimitExceededError naming it."""
    limit = min(max_tokens_per_sentence, max_tokens_per_call)
    group: List[int] = []
    tokens = 0
    for i, n in enumerate(counts):
        if n == 0 and not keep_empty:
            continue
        if n > limit:
            raise LimitExceededError(f"sentence {i} has {n} tokens, more than one library call holds "
                                     f"({limit}: the session's max_tokens_per_sentence / max_tokens_per_call)")
        if group and (len(group) == max_sentences or tokens + n > max_tokens_per_call):
            yield group
            group, tokens = [], 0
        group.append(i)
        tokens += n
    if group:
        yield group


class Batch:
    """One batch in C form. Keeps the encoded strings alive as long as the arrays.
    ``encoded``: the sentences are texts that Sentences has already encoded and checked."""

    def __init__(self, sentences, encoded: bool = False):
        _check_batch(sentences)
        items = list(sentences)
        self.count = len(items)
        raw = [isinstance(item, _TEXT_TYPES) for item in items]
        self.is_texts = all(raw)
        if not self.is_texts and any(raw):
            raise InvalidArgumentError("sentences mix raw texts and token lists: give one kind per batch")
        if self.is_texts:
            self._strings = items if encoded else [_utf8(t, f"text {i}") for i, t in enumerate(items)]
            self.strings = (c_char_p * self.count)(*self._strings)
            self.token_counts = (c_size_t * self.count)()
        else:
            self._strings = []
            counts = []
            for i, sentence in enumerate(items):
                if not _is_sequence(sentence):
                    raise InvalidArgumentError(
                        f"sentence {i} is a {type(sentence).__name__}: give a text (str) or a list of tokens")
                tokens = list(sentence)
                counts.append(len(tokens))
                self._strings.extend(_utf8(t, f"sentence {i} token {j}") for j, t in enumerate(tokens))
            self.strings = (c_char_p * len(self._strings))(*self._strings)
            self.token_counts = (c_size_t * self.count)(*counts)

    def lengths(self) -> List[int]:
        """Tokens per sentence (for texts: known after the library's size query)."""
        return list(self.token_counts)


class OutputSpec:
    """An output name (``"all"``, ``"word_emb"``, ``"lstm_outputs<k>"``, ``"elmo"``, ``"default"``)
    with its mix options, as elmo_output_params."""

    NAMES = ("all", "word_emb", "lstm_outputs<k>", "elmo", "default")

    def __init__(self, params_factory, name: str, mix_weights=None, gamma=None, layer_norm=None):
        from . import _lib
        if not isinstance(name, str):
            raise InvalidArgumentError(f"output must be a str, not {type(name).__name__}")
        self.name = name
        params = params_factory()
        if name == "all":
            params.kind = _lib.OUTPUT_ALL_LAYERS
        elif name == "word_emb":
            params.kind = _lib.OUTPUT_WORD_EMB
        elif name == "elmo":
            params.kind = _lib.OUTPUT_ELMO
        elif name == "default":
            params.kind = _lib.OUTPUT_DEFAULT
        elif name.startswith("lstm_outputs") and name[len("lstm_outputs"):].isdigit():
            params.kind = _lib.OUTPUT_LSTM
            # Out of size_t's range the library could not name the layer; ctypes would wrap it.
            params.lstm_layer = min(int(name[len("lstm_outputs"):]), SIZE_MAX)
        else:
            raise InvalidArgumentError(f"unknown output {name!r}: use one of {', '.join(self.NAMES)}")
        self.kind = params.kind
        self._weights = None
        mixed = params.kind in (_lib.OUTPUT_ELMO, _lib.OUTPUT_DEFAULT)
        if not mixed and (mix_weights is not None or gamma is not None or layer_norm is not None):
            raise InvalidArgumentError(f"mix_weights, gamma and layer_norm apply to the 'elmo' and 'default' "
                                       f"outputs, not {name!r}")
        if mix_weights is not None:
            try:
                weights = np.ascontiguousarray(mix_weights, dtype=np.float32)
            except (TypeError, ValueError) as error:
                raise InvalidArgumentError(f"mix_weights must be a sequence of numbers ({error})") from None
            if weights.ndim != 1:
                raise InvalidArgumentError(f"mix_weights must be one-dimensional, not of shape {weights.shape}")
            self._weights = weights  # kept alive: the params point into it
            params.mix_weights = weights.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            params.mix_weight_count = weights.size
        if gamma is not None:
            params.mix_gamma = float(gamma)
        if layer_norm is not None:
            params.mix_layer_norm = 1 if layer_norm else 0
        self.params = params


class Shapes:
    """One sentence's output shape for each token count, as the library states it
    (``elmo_output_shape``: the shape rules live in the library alone). A spec with
    ``sentence_boundaries`` set has 2 more rows per sentence. Cached per count: a call's
    sentences have few distinct lengths."""

    def __init__(self, model_handle, spec: OutputSpec):
        from . import _lib
        self._model = model_handle
        # A shape depends on the kind, the LSTM layer and the boundary rows, not on the mix:
        # the mix options are checked by the embedding calls, as they always were.
        self._params = _lib.output_params()
        self._params.kind = spec.params.kind
        self._params.lstm_layer = spec.params.lstm_layer
        self._params.sentence_boundaries = spec.params.sentence_boundaries
        self._known = {}

    def __call__(self, tokens: int) -> Tuple[int, ...]:
        shape = self._known.get(tokens)
        if shape is None:
            from . import _lib
            extents = (c_size_t * _lib.OUTPUT_MAX_AXES)()
            axes = c_size_t()
            with self._model.use() as model:
                _lib.load().elmo_output_shape(model, ctypes.byref(self._params), tokens, extents,
                                              _lib.OUTPUT_MAX_AXES, ctypes.byref(axes))
            shape = tuple(extents[:axes.value])
            self._known[tokens] = shape
        return shape

    def empty(self) -> np.ndarray:
        """The result for a sentence without tokens: no rows, and zeros for ``default``."""
        return np.zeros(self(0), dtype=np.float32)


class Dims:
    """A model's sizes (immutable; shared by the model and its sessions)."""

    __slots__ = ("token_dim", "output_dim", "output_layer_count", "lstm_layer_count")

    def __init__(self, token_dim: int, output_dim: int, output_layer_count: int, lstm_layer_count: int):
        self.token_dim = token_dim
        self.output_dim = output_dim
        self.output_layer_count = output_layer_count
        self.lstm_layer_count = lstm_layer_count


def split(flat: np.ndarray, lengths: Sequence[int], shapes: Shapes) -> List[np.ndarray]:
    """One array per sentence: views into the library's output buffer."""
    arrays = []
    offset = 0
    for tokens in lengths:
        shape = shapes(tokens)
        size = 1
        for extent in shape:  # (np.prod costs more than the rest of the loop)
            size *= extent
        arrays.append(flat[offset:offset + size].reshape(shape))
        offset += size
    if offset != flat.size:  # the size query and the shapes disagree: a bug, not user error
        raise AssertionError(f"output holds {flat.size} floats but the shapes need {offset}")
    return arrays


def pad(arrays: List[np.ndarray], lengths: Sequence[int], shapes: Shapes) -> np.ndarray:
    """The per-sentence arrays stacked into one zero-padded batch array: each sentence's array
    fills the leading corner of the longest sentence's shape (``default`` has no token axis,
    so its arrays are stacked as they are)."""
    longest = max(lengths) if lengths else 0
    batch = np.zeros((len(arrays),) + shapes(longest), dtype=np.float32)
    for i, a in enumerate(arrays):
        batch[(i,) + tuple(slice(0, extent) for extent in a.shape)] = a
    return batch
