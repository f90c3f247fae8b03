"""libelmo for Python: ELMo contextual word vectors with numpy only.

    import elmo
    with elmo.Model("path/to/model") as model:          # or a name: "original" (downloaded once)
        layers = model.embed(["The bank of the river ."])         # [(3, 5, 1024) float32]
        vectors = model.embed([["A", "bank", "loan"]], "elmo")    # [(3, 1024)]

    from elmo import Elmo2Vec                             # vectorhub's API, no TensorFlow
    Elmo2Vec().encode("I enjoy taking long walks along the beach with my dog.")

The C library (libelmo.so) is found at $ELMO_LIBRARY, inside this package, or through the
system loader. See README.md of the libelmo repository for the details.
"""

from . import download
from ._lib import library_path, version as library_version
from ._version import __version__
from .elmo2vec import Elmo2Vec
from .errors import (BufferTooSmallError, DownloadError, ElmoError, ElmoIOError, ElmoMemoryError, InternalError,
                     InvalidArgumentError, InvalidInputError, InvalidModelError, LibraryNotFoundError,
                     LimitExceededError, SessionBusyError, ShapeMismatchError)
from .model import Model, Session
from ._model_cache import release_shared_models, shared_model, shared_model_loads, thread_session

__all__ = [
    "Model", "Session", "Elmo2Vec", "download", "library_path", "library_version",
    "ElmoError", "InvalidArgumentError", "InvalidInputError", "ElmoIOError", "InvalidModelError",
    "ShapeMismatchError", "LimitExceededError", "ElmoMemoryError", "BufferTooSmallError", "SessionBusyError",
    "InternalError", "DownloadError", "LibraryNotFoundError",
]
