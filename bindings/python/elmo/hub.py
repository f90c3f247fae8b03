"""TF Hub's ``google/elmo`` call shapes on libelmo (no TensorFlow).

    import elmo.hub as hub                                   # was: import tensorflow_hub as hub
    module = hub.load("https://tfhub.dev/google/elmo/3")     # or a local module directory
    out = module.signatures["default"](tf.constant(["the cat sat", "a dog"]))   # or plain lists
    out = module.signatures["tokens"](tokens=[["the", "cat", "sat"], ["a", "dog", ""]],
                                      sequence_len=[3, 2])
    out["elmo"].shape      # (2, 3, 1024); also word_emb, lstm_outputs1, lstm_outputs2, default

Outputs are numpy arrays with TF Hub's keys and shapes: ``word_emb`` (B, T, token_dim),
``lstm_outputs1``, ``lstm_outputs2``, ``elmo`` (B, T, dim), ``default`` (B, dim) and
``sequence_len`` (B,) int32. All of them come from one encoder pass (the ``all`` output; the
others are derived from it in the library's own arithmetic). T is the longest sentence (the
``tokens`` signature: the width of ``tokens``).

Padded positions (t >= sequence_len): every output is 0 there. In TF Hub's graph (bilm-tf),
``lstm_outputs1``/``lstm_outputs2`` are 0 there too (the LSTMs stop at sequence_len), while
``word_emb`` and the token-layer part of ``elmo`` hold the character CNN's vector of the
padding string, a value TF Hub does not document and no consumer should read; ``default``
is the mean over the real tokens only (divided by sequence_len), as TF Hub computes it.
The ``default`` signature splits each string on whitespace (``str.split()``); TF Hub splits on
single spaces, which differs only for tabs, newlines and runs of spaces.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

import numpy as np

from .errors import InvalidArgumentError
from ._owner import ModelOwner
from .model import Model

OUTPUT_KEYS = ("word_emb", "lstm_outputs1", "lstm_outputs2", "elmo", "default", "sequence_len")


def _strings(value):
    """A TF string tensor, numpy array or list as a list of Python str (bytes decoded)."""
    if hasattr(value, "numpy") and callable(value.numpy):  # an eager tf.Tensor
        value = value.numpy()
    array = np.asarray(value, dtype=object)
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.reshape(-1)], array.shape


class Output(np.ndarray):
    """A numpy array that also answers ``.numpy()``, so TF2 code reading ``out["elmo"].numpy()``
    runs unchanged."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


class Module(ModelOwner):
    """A loaded ELMo with TF Hub's ``signatures`` and call (``hub.load``'s object, and TF1's
    ``hub.Module(handle, trainable=...)`` spelling).

    ``module(strings)`` and ``module.signatures["default"](strings)`` embed raw sentences;
    ``module.signatures["tokens"](tokens=..., sequence_len=...)`` pre-tokenized ones, padded
    with anything (``""`` in TF Hub's examples) beyond each ``sequence_len``. Each returns a
    dict of numpy arrays (see the module docstring). ``as_dict``/``signature`` keywords of
    TF1's ``hub.Module.__call__`` are accepted too. ``trainable`` is accepted and has no
    effect: inference never trains; the mix is the module's own.
    """

    def __init__(self, handle, trainable: bool = False, *, precision: str = "fp32", threads: Optional[int] = None,
                 progress: Optional[bool] = None):
        if isinstance(handle, bytes):
            handle = os.fsdecode(handle)
        self.handle = os.fspath(handle)
        self.trainable = trainable
        self.model = Model(self.handle, precision=precision, threads=threads, progress=progress)
        self.signatures: Dict[str, object] = {"default": self._default, "tokens": self._tokens}

    def __call__(self, inputs=None, signature: Optional[str] = None, as_dict: bool = True, **kwargs):
        if signature in (None, "default"):
            if inputs is None:
                inputs = kwargs.pop("strings", None)
            if isinstance(inputs, dict):
                inputs = inputs.get("strings")
            result = self._default(inputs)
        elif signature == "tokens":
            if isinstance(inputs, dict):
                kwargs = {**inputs, **kwargs}
            result = self._tokens(**kwargs)
        else:
            raise InvalidArgumentError(f"unknown signature {signature!r}: use 'default' or 'tokens'")
        return result if as_dict else result["default"]

    def _default(self, strings=None, **kwargs) -> Dict[str, np.ndarray]:
        if strings is None:
            strings = kwargs.pop("strings", None)
        if strings is None:
            raise InvalidArgumentError("the default signature takes `strings`, a batch of sentences")
        texts, shape = _strings(strings)
        if len(shape) != 1:
            raise InvalidArgumentError(f"strings must be one-dimensional (a batch of sentences), not of shape {shape}")
        sentences = [text.split() for text in texts]
        return self._outputs(sentences, max((len(s) for s in sentences), default=0))

    def _tokens(self, tokens=None, sequence_len=None) -> Dict[str, np.ndarray]:
        if tokens is None or sequence_len is None:
            raise InvalidArgumentError("the tokens signature takes `tokens` (batch, max_length) and `sequence_len` (batch,)")
        flat, shape = _strings(tokens)
        if len(shape) != 2:
            raise InvalidArgumentError(f"tokens must have shape (batch, max_length), not {shape}")
        if hasattr(sequence_len, "numpy") and callable(sequence_len.numpy):
            sequence_len = sequence_len.numpy()
        lengths = np.asarray(sequence_len).reshape(-1)
        if lengths.shape[0] != shape[0] or (lengths < 0).any() or (lengths > shape[1]).any():
            raise InvalidArgumentError(f"sequence_len must hold one length from 0 to {shape[1]} per sentence "
                                       f"({shape[0]}), not {lengths.tolist()}")
        width = shape[1]
        sentences = [flat[i * width:i * width + int(n)] for i, n in enumerate(lengths)]
        return self._outputs(sentences, width)

    def _outputs(self, sentences: Sequence[Sequence[str]], width: int) -> Dict[str, np.ndarray]:
        """Every output from one encoder pass: the all-layers arrays, from which ``elmo`` and
        ``default`` are mixed here with the model's own mix (``Model.default_mix``)."""
        model = self.model
        batch = len(sentences)
        layers = model.embed(sentences, "all")
        word_emb = np.zeros((batch, width, model.token_dim), dtype=np.float32)
        lstm = [np.zeros((batch, width, model.output_dim), dtype=np.float32) for _ in range(model.lstm_layer_count)]
        for i, array in enumerate(layers):
            n = array.shape[1]
            word_emb[i, :n] = array[0, :, :model.token_dim]
            for k in range(model.lstm_layer_count):
                lstm[k][i, :n] = array[k + 1]
        elmo, default = self._mix(layers, batch, width)
        out = {"word_emb": word_emb}
        for k, layer in enumerate(lstm, start=1):
            out[f"lstm_outputs{k}"] = layer
        out["elmo"] = elmo
        out["default"] = default
        out["sequence_len"] = np.asarray([a.shape[1] for a in layers], dtype=np.int32)
        return {key: value.view(Output) for key, value in out.items()}

    def _mix(self, layers, batch: int, width: int):
        """``elmo`` and ``default`` as the library computes them: gamma * softmax(w)_k (float32)
        times each layer, summed in layer order, each layer normalised over the sentence's own
        tokens when the mix asks for it; ``default`` the mean over the tokens."""
        elmo = np.zeros((batch, width, self.model.output_dim), dtype=np.float32)
        default = np.zeros((batch, self.model.output_dim), dtype=np.float32)
        weights, gamma, layer_norm = self.model.default_mix()
        w = weights.astype(np.float64)
        softmax = np.exp(w - w.max())
        scales = [np.float32(gamma) * np.float32(s) for s in softmax / softmax.sum()]
        for i, array in enumerate(layers):
            n = array.shape[1]
            if n == 0:
                continue
            mixed = np.zeros((n, self.model.output_dim), dtype=np.float32)
            for k in range(array.shape[0]):
                layer = array[k]
                if layer_norm:
                    mean = layer.mean(dtype=np.float64)
                    std = np.sqrt(((layer.astype(np.float64) - mean) ** 2).mean() + 1e-12)
                    mixed += np.float32(scales[k] / std) * (layer - np.float32(mean))
                else:
                    mixed += scales[k] * layer
            elmo[i, :n] = mixed
            default[i] = mixed.mean(axis=0, dtype=np.float64).astype(np.float32)
        return elmo, default


def load(handle, tags=None, options=None, *, precision: str = "fp32", threads: Optional[int] = None,
         progress: Optional[bool] = None) -> Module:
    """TF Hub's ``hub.load``: ``handle`` is a TF Hub address of ``google/elmo`` (passed to
    :class:`elmo.Model`: TF Hub's own cache first, as ``tensorflow_hub`` would find it, else
    fetched and cached; see :mod:`elmo.resolve`), a local module directory or ``.tar.gz``,
    or anything else :class:`elmo.Model` loads (a model directory, a name such as
    ``original``). ``tags`` and ``options`` (TensorFlow's) are accepted and ignored."""
    return Module(handle, precision=precision, threads=threads, progress=progress)

