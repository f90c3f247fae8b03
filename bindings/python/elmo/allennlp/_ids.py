"""Character ids as AllenNLP 0.9's ``batch_to_ids`` makes them (``ELMoCharacterMapper``).

A token becomes ``characters`` ids: begin-of-word, its UTF-8 bytes (cut to ``characters - 2``
bytes, even inside a multi-byte character), end-of-word, padding; ``<S>`` and ``</S>`` are the
sentence boundary rows. Every id is bilm-tf's plus one, so that 0 marks padded positions.
These are the rows ``elmo_embed_character_ids`` checks and embeds as they are.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from ._torch import optional_torch

# bilm-tf's special character ids (before the +1 shift).
BEGIN_SENTENCE, END_SENTENCE, BEGIN_WORD, END_WORD, PADDING = 256, 257, 258, 259, 260
CHARACTERS_PER_TOKEN = 50


def _boundary(mark: int, characters: int) -> np.ndarray:
    row = np.full(characters, PADDING + 1, dtype=np.int64)
    row[:3] = (BEGIN_WORD + 1, mark + 1, END_WORD + 1)
    return row


def token_ids(token: str, characters: int = CHARACTERS_PER_TOKEN) -> np.ndarray:
    """The shifted ids of one token (AllenNLP's ``convert_word_to_char_ids`` + 1)."""
    if token == "<S>":
        return _boundary(BEGIN_SENTENCE, characters)
    if token == "</S>":
        return _boundary(END_SENTENCE, characters)
    # AllenNLP encodes with errors="ignore": a lone surrogate is dropped, not an error.
    data = token.encode("utf-8", "ignore")[:characters - 2]
    row = np.full(characters, PADDING + 1, dtype=np.int64)
    row[0] = BEGIN_WORD + 1
    row[1:len(data) + 1] = np.frombuffer(data, dtype=np.uint8).astype(np.int64) + 1
    row[len(data) + 1] = END_WORD + 1
    return row


def batch_ids(batch: Sequence[Sequence[str]], characters: int = CHARACTERS_PER_TOKEN) -> np.ndarray:
    """(len(batch), longest sentence, characters) int64 ids, 0 at padded positions."""
    sentences: List[List[str]] = [list(sentence) for sentence in batch]
    longest = max((len(s) for s in sentences), default=0)
    ids = np.zeros((len(sentences), longest, characters), dtype=np.int64)
    for i, sentence in enumerate(sentences):
        for j, token in enumerate(sentence):
            if not isinstance(token, str):
                raise TypeError(f"sentence {i} token {j} is a {type(token).__name__}, not a str")
            ids[i, j] = token_ids(token, characters)
    return ids


def batch_to_ids(batch: Sequence[Sequence[str]]):
    """AllenNLP's ``batch_to_ids``: a list of tokenized sentences to a (batch, longest
    sentence, 50) tensor of character ids, 0 at padded positions. A ``torch.LongTensor`` when
    PyTorch is installed (as AllenNLP returns), else a numpy int64 array of the same values."""
    ids = batch_ids(batch)
    torch = optional_torch()
    return torch.from_numpy(ids) if torch is not None else ids


def token_counts(ids: np.ndarray) -> np.ndarray:
    """Tokens per sentence of a (batch, timesteps, characters) id array: AllenNLP's mask
    (a position is a token if any id is nonzero), which must be a prefix of each row.
    Raises ValueError naming the sentence when a token follows a padded position."""
    mask = (ids > 0).any(axis=-1)
    counts = mask.sum(axis=-1)
    positions = np.arange(ids.shape[1])
    bad = np.nonzero((mask != (positions[None, :] < counts[:, None])).any(axis=-1))[0]
    if bad.size:
        raise ValueError(f"sentence {int(bad[0])} has a token after a padded (all-zero) position: padding must "
                         "come after the tokens, as batch_to_ids puts it")
    return counts
