"""``Elmo``: AllenNLP 0.9's ``allennlp.modules.elmo.Elmo`` torch module on libelmo.

The biLM is frozen and runs in libelmo (C, any number of threads, no autograd graph); what
trains is in torch: one scalar mix per output representation (softmax-normalised layer weights
and gamma, AllenNLP's ``ScalarMix``, with its masked whole-batch layer norm), then dropout.

How the character ids reach libelmo: they are embedded as they are, by
``elmo_embed_character_ids``, never mapped back to text. Text could not stand in for them
exactly: ``batch_to_ids`` cuts a token at 48 bytes, possibly inside a multi-byte character
(invalid UTF-8, which the text API refuses), and a word spelled ``<S>`` has the ids of the
sentence boundary. The library checks every row (ids in range, begin/end-of-word structure)
and reports a malformed one as an error naming it.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Union

import numpy as np
import torch

from ..errors import InvalidArgumentError
from ..model import Model
from ._ids import batch_ids, token_counts


class ScalarMix(torch.nn.Module):
    """AllenNLP's ``ScalarMix``: ``gamma * sum_k softmax(w)_k * layer_k``, each layer optionally
    normalised with the mean and variance of its unmasked values over the whole batch."""

    def __init__(self, mixture_size: int, do_layer_norm: bool = False,
                 initial_scalar_parameters: Optional[List[float]] = None, trainable: bool = True) -> None:
        super().__init__()
        self.mixture_size = mixture_size
        self.do_layer_norm = do_layer_norm
        if initial_scalar_parameters is None:
            initial_scalar_parameters = [0.0] * mixture_size
        elif len(initial_scalar_parameters) != mixture_size:
            raise InvalidArgumentError(f"scalar_mix_parameters has {len(initial_scalar_parameters)} values but the "
                                       f"model has {mixture_size} layers")
        self.scalar_parameters = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.FloatTensor([value]), requires_grad=trainable)
             for value in initial_scalar_parameters])
        self.gamma = torch.nn.Parameter(torch.FloatTensor([1.0]), requires_grad=trainable)

    def forward(self, tensors: List[torch.Tensor], mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        weights = torch.nn.functional.softmax(torch.cat([p for p in self.scalar_parameters]), dim=0)
        weights = torch.split(weights, split_size_or_sections=1)
        if not self.do_layer_norm:
            return self.gamma * sum(w * t for w, t in zip(weights, tensors))
        if mask is None:
            raise InvalidArgumentError("do_layer_norm needs the mask")
        broadcast = mask.float().unsqueeze(-1)
        count = torch.sum(mask.float()) * tensors[0].size(-1)
        pieces = []
        for w, tensor in zip(weights, tensors):
            masked = tensor * broadcast
            mean = torch.sum(masked) / count
            variance = torch.sum(((masked - mean) * broadcast) ** 2) / count
            pieces.append(w * (tensor - mean) / torch.sqrt(variance + 1e-12))
        return self.gamma * sum(pieces)


class Elmo(torch.nn.Module):
    """AllenNLP 0.9's ``Elmo``: ``num_output_representations`` trainable mixes of the frozen
    biLM's layers for character ids from :func:`elmo.allennlp.batch_to_ids`.

    ``forward(character_ids)`` with ids of shape (batch, timesteps, 50) (or more leading
    dimensions) returns ``{"elmo_representations": [...], "mask": ...}``: each representation
    (batch, timesteps, dim) float32 (timesteps + 2 with ``keep_sentence_boundaries``, the
    ``<S>`` and ``</S>`` positions included), zero at padded positions, and the int64 mask.

    ``requires_grad=True`` (fine-tuning the biLM) is not possible: the biLM runs in libelmo and
    is frozen; gradients reach the mix parameters only. ``scalar_mix_parameters`` fixes the
    mix weights (not trained), as in AllenNLP. ``vocab_to_cache`` is accepted so that word ids
    can be given to forward as ``word_inputs`` (mapped to their strings; libelmo caches
    frequent tokens itself). ``module`` (a pre-built AllenNLP biLM) is not supported.
    ``stateful=True`` carries the LSTM states between calls as AllenNLP's biLM does (default
    False: a sentence's vectors do not depend on its batch or on earlier calls).

    An all-padding row of a batch is handled as AllenNLP handles it: the biLM runs over its bare
    ``<S> </S>`` pair, whose two rows appear with ``keep_sentence_boundaries`` and enter the
    ``do_layer_norm`` statistics; its representation without boundaries is all zeros.
    """

    def __init__(self, options_file: str, weight_file: str, num_output_representations: int,
                 requires_grad: bool = False, do_layer_norm: bool = False, dropout: float = 0.5,
                 vocab_to_cache: Optional[List[str]] = None, keep_sentence_boundaries: bool = False,
                 scalar_mix_parameters: Optional[List[float]] = None, module: Optional[torch.nn.Module] = None,
                 *, stateful: bool = False, precision: str = "fp32", threads: Optional[int] = None) -> None:
        super().__init__()
        if requires_grad:
            raise InvalidArgumentError("requires_grad=True would fine-tune the biLM, but libelmo's biLM is frozen "
                                       "(it runs in the C library, outside autograd): use requires_grad=False; the "
                                       "scalar mixes are trainable")
        if module is not None:
            raise InvalidArgumentError("module= (a pre-built AllenNLP biLM) is not supported: libelmo loads the "
                                       "biLM from options_file and weight_file")
        self._model = Model(weight_file, options=options_file, precision=precision, threads=threads)
        self._session = self._model.session(stateful=stateful)
        self._vocab = list(vocab_to_cache) if vocab_to_cache is not None else None
        self._keep_sentence_boundaries = keep_sentence_boundaries
        self._dropout = torch.nn.Dropout(p=dropout)
        self._scalar_mixes: List[ScalarMix] = []
        for k in range(num_output_representations):
            mix = ScalarMix(self._model.output_layer_count, do_layer_norm=do_layer_norm,
                            initial_scalar_parameters=scalar_mix_parameters,
                            trainable=scalar_mix_parameters is None)
            self.add_module(f"scalar_mix_{k}", mix)
            self._scalar_mixes.append(mix)

    def get_output_dim(self) -> int:
        """Width of every representation (1024 for the original model)."""
        return self._model.output_dim

    def forward(self, inputs: torch.Tensor,
                word_inputs: Optional[torch.Tensor] = None) -> Dict[str, Union[torch.Tensor, List[torch.Tensor]]]:
        if word_inputs is not None and self._vocab is not None:
            inputs = self._ids_of_words(word_inputs)
        original_shape = tuple(inputs.size())
        if len(original_shape) < 3:
            raise InvalidArgumentError(f"character ids must have shape (batch, timesteps, characters), not {original_shape}")
        timesteps, characters = original_shape[-2:]
        ids = inputs.detach().reshape(-1, timesteps, characters).cpu().numpy()
        activations, mask_with_boundaries = self._bilm(ids)
        layers = [activations[:, k] for k in range(activations.size(1))]
        representations = []
        for mix in self._scalar_mixes:
            mixed = mix(layers, mask_with_boundaries)
            if self._keep_sentence_boundaries:
                processed, mask = mixed, mask_with_boundaries
            else:
                processed, mask = _remove_sentence_boundaries(mixed, mask_with_boundaries)
            representations.append(self._dropout(processed))
        if len(original_shape) > 3:
            mask = mask.view(original_shape[:-2] + (mask.size(-1),))
            representations = [r.view(original_shape[:-2] + tuple(r.shape[-2:])) for r in representations]
        return {"elmo_representations": representations, "mask": mask}

    def _bilm(self, ids: np.ndarray):
        """Every layer with the boundary positions, (batch, layers, timesteps + 2, dim), zero at
        padded positions, and the mask with boundaries (batch, timesteps + 2), as AllenNLP's
        ``_ElmoBiLm`` returns them."""
        batch, timesteps, _ = ids.shape
        counts = token_counts(ids)
        rows = ids[np.arange(timesteps)[None, :] < counts[:, None]]  # the tokens, back to back
        arrays = self._session.embed_character_ids(rows, counts, "all", sentence_boundaries=True)
        layers, dim = self._model.output_layer_count, self._model.output_dim
        activations = np.zeros((batch, layers, timesteps + 2, dim), dtype=np.float32)
        mask = np.zeros((batch, timesteps + 2), dtype=np.int64)
        for i, (array, n) in enumerate(zip(arrays, counts)):
            activations[i, :, :n + 2] = array  # an all-padding row too: its <S> </S> pair
            mask[i, :n + 2] = 1
        return torch.from_numpy(activations), torch.from_numpy(mask)

    def _ids_of_words(self, word_inputs: torch.Tensor) -> torch.Tensor:
        words = word_inputs.detach().cpu().numpy()
        flat = words.reshape(-1, words.shape[-1])
        sentences = [[self._vocab[int(w)] for w in row[:int((row != 0).sum())]] for row in flat]
        ids = np.zeros((flat.shape[0], flat.shape[1], self._model.characters_per_token), dtype=np.int64)
        built = batch_ids(sentences, self._model.characters_per_token)
        ids[:, :built.shape[1]] = built
        return torch.from_numpy(ids.reshape(words.shape + (ids.shape[-1],)))


def _remove_sentence_boundaries(tensor: torch.Tensor, mask: torch.Tensor):
    """AllenNLP's ``remove_sentence_boundaries``: drop each row's first and last real position."""
    lengths = mask.sum(dim=1).tolist()
    shape = list(tensor.shape)
    shape[1] -= 2
    result = tensor.new_zeros(shape)
    for i, length in enumerate(lengths):
        if length > 2:
            result[i, :length - 2] = tensor[i, 1:length - 1]
    return result, mask[:, 2:]
