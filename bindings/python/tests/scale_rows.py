"""The rows of issue 16's acceptance test, shared by the Arrow, Spark, Dask and Ray tests, and
the check that each engine's output row is exactly what ``elmo.Model.embed`` gives.

2,000 rows: lines of the benchmark corpus (or the fixture sentences when the corpus is absent),
with nulls, empty and whitespace-only texts, non-ASCII texts, one 500-token text and one text
over the library's 65,536-token limit (a bad row: it must come out null, the others intact).
"""

import functools
import os

import numpy as np

from conftest import FIXTURES, REPOSITORY, SENTENCES

CORPUS = os.path.join(REPOSITORY, "..", "shared", "bench", "corpus.txt")

NON_ASCII = ["Naïve café owners süß ! 日本語", "Ελληνικά και русский текст ,  مرحبا", "emoji 🙂 and ünïcödé ."]
LONG_ROW = 1000       # 500 tokens
TOO_LONG_ROW = 1500   # 70,000 tokens: over the session's max_tokens_per_sentence


@functools.lru_cache(maxsize=None)
def acceptance_texts(n: int = 2000) -> tuple:
    """The acceptance rows (texts or None), deterministic."""
    if os.path.isfile(CORPUS):
        with open(CORPUS, encoding="utf-8") as f:
            base = [line.strip() for _, line in zip(range(n), f) if line.strip()]
    else:
        import json
        with open(os.path.join(FIXTURES, "sentences.json"), encoding="utf-8") as f:
            base = [s for group in json.load(f) for s in group] + SENTENCES
    rows = []
    for i in range(n):
        kind = i % 40
        if kind == 3:
            rows.append(None)
        elif kind == 11:
            rows.append("")
        elif kind == 17:
            rows.append(" \t\n ")
        elif kind in (23, 29, 31):
            rows.append(NON_ASCII[(i // 40) % len(NON_ASCII)])
        else:
            rows.append(base[i % len(base)])
    words = " ".join(base).split()
    rows[LONG_ROW] = " ".join(words[k % len(words)] for k in range(500))
    rows[TOO_LONG_ROW] = "x " * 70000
    return tuple(rows)


@functools.lru_cache(maxsize=None)
def _reference(model, text: str, output: str) -> np.ndarray:
    return model.embed([text], output)[0]


def as_array(value, output: str):
    """An engine's row (nested Python lists, or a numpy array) as one float32 array, or None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value
    return np.array(value, dtype=np.float32)


def check_rows(texts, vectors, errors, model, output: str) -> None:
    """Asserts one result per row: None for a null, zeros / no tokens for an empty text, None
    with a limit message for the too-long row, and otherwise ``Model.embed([text])[0]`` bit for
    bit (``errors``: the error column's values, or None when the engine gave none)."""
    assert len(vectors) == len(texts)
    for i, text in enumerate(texts):
        got = as_array(vectors[i], output)
        error = None if errors is None else errors[i]
        if text is None:
            assert got is None and error is None, i
        elif i == TOO_LONG_ROW and len(texts) > TOO_LONG_ROW:
            assert got is None, i
            assert errors is None or "65536" in error, error
        elif not text.split():
            if output == "default":
                assert got.shape == (model.output_dim,) and not got.any(), i
            else:
                assert got.size == 0, i
        else:
            expected = _reference(model, text, output)
            assert error is None, (i, error)
            assert np.array_equal(got.reshape(expected.shape), expected), (i, text[:60])
