"""What a model argument names: a local path, a model name, or a TF Hub address."""

from __future__ import annotations

import os
import re
from typing import Optional

from .download import MODELS, fetch_model
from .errors import InvalidArgumentError

# TF Hub's google/elmo versions 2 and 3 are the original model (2x4096_512_2048cnn_2xhighway,
# 1B Word Benchmark) that AllenNLP publishes as `original`.
_TFHUB_ELMO_VERSIONS = {"2": "original", "3": "original"}

_TFHUB_ADDRESSES = (
    # https://tfhub.dev/google/elmo/3, with or without ?tf-hub-format=compressed
    re.compile(r"(?:https?://)?(?:www\.)?tfhub\.dev/google/elmo/(\d+)/?", re.IGNORECASE),
    # https://www.kaggle.com/models/google/elmo/frameworks/TensorFlow1/variations/elmo/versions/3
    # and the short form https://www.kaggle.com/models/google/elmo/TensorFlow1/elmo/3
    re.compile(r"(?:https?://)?(?:www\.)?kaggle\.com/models/google/elmo/(?:frameworks/)?tensorflow1/"
               r"(?:variations/)?elmo/(?:versions/)?(\d+)/?", re.IGNORECASE),
    # the compressed module itself, as TF Hub serves it from Google Cloud Storage
    re.compile(r"(?:https?://)?storage\.googleapis\.com/tfhub-modules/google/elmo/(\d+)\.tar\.gz", re.IGNORECASE),
)


def tfhub_model_name(address: str) -> Optional[str]:
    """The model name a TF Hub address of google/elmo stands for, None if it is not one.
    Raises for a google/elmo version that is not known to be the original model."""
    without_query = address.split("?", 1)[0].split("#", 1)[0]
    for pattern in _TFHUB_ADDRESSES:
        match = pattern.fullmatch(without_query)
        if match:
            version = match.group(1)
            if version not in _TFHUB_ELMO_VERSIONS:
                raise InvalidArgumentError(
                    f"{address}: google/elmo version {version} is not known to libelmo; versions 2 and 3 are "
                    "the original model (or pass a local path)")
            return _TFHUB_ELMO_VERSIONS[version]
    return None


def model_name(path: str) -> Optional[str]:
    """The model name `path` stands for (a name or a TF Hub address), None for a path."""
    if path in MODELS:
        return path
    return tfhub_model_name(path)


def resolve_model(path: str, progress: Optional[bool] = None) -> str:
    """A local path the library can load. An existing path is returned as it is (never the
    network); a model name or TF Hub address becomes its cache directory, downloaded first if
    needed; anything else is returned unchanged for the library to report."""
    if os.path.exists(path):
        return path
    name = model_name(path)
    if name is not None:
        return fetch_model(name, progress=progress)
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", path):
        raise InvalidArgumentError(
            f"{path}: not a model libelmo knows how to fetch. Give a local path, a model name "
            f"({', '.join(MODELS)}) or the TF Hub address of google/elmo/2 or /3")
    return path
