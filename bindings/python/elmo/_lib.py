"""The C API of include/elmo.h, one to one, through ctypes.

Every function of the header is declared here with its exact argument and result types;
every status it returns is checked (``errcheck``) and a failure raises the matching
:class:`elmo.ElmoError` subclass carrying ``elmo_last_error()``. The library is opened
with ``ctypes.CDLL``, which releases the GIL for the duration of each call, so Python
threads embedding with their own sessions run in parallel.

The library is found, in order, at ``$ELMO_LIBRARY``, as the copy bundled inside this
package (``elmo/libelmo.so``, present in wheels built from a repository where
``make lib`` has run), and through the system loader (``libelmo.so.0``, ``libelmo.so``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import POINTER, c_char_p, c_float, c_int, c_size_t
from typing import List, Optional

from .errors import ElmoError, LibraryNotFoundError, error_for_status

#: The header version these declarations mirror (ELMO_VERSION_MAJOR / MINOR).
HEADER_VERSION = (0, 3, 0)

# enum elmo_output_kind
OUTPUT_ALL_LAYERS = 0
OUTPUT_WORD_EMB = 1
OUTPUT_LSTM = 2
OUTPUT_ELMO = 3
OUTPUT_DEFAULT = 4
#: ELMO_OUTPUT_MAX_AXES: the most axes one sentence's output has (elmo_output_shape; since 0.3).
OUTPUT_MAX_AXES = 3

# enum elmo_precision
PRECISION_FP32 = 0
PRECISION_BF16 = 1
PRECISION_INT8 = 2
#: Python names of the precisions, as elmo.Model(precision=...) takes them.
PRECISIONS = {"fp32": PRECISION_FP32, "bf16": PRECISION_BF16, "int8": PRECISION_INT8}

# C enums are int-sized on the platforms libelmo supports (the header's enums fit in int).
c_status = c_int
c_output_kind = c_int
c_precision = c_int


class ModelHandle(ctypes.Structure):
    """struct elmo_model (opaque: only pointers to it exist)."""


class SessionHandle(ctypes.Structure):
    """struct elmo_session (opaque: only pointers to it exist)."""


ModelPointer = POINTER(ModelHandle)
SessionPointer = POINTER(SessionHandle)


class ModelParams(ctypes.Structure):
    """elmo_model_params."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("options_path", c_char_p),
        ("token_cache_bytes", c_size_t),
        ("precision", c_precision),
        ("reserved", c_int),
    ]


class SessionParams(ctypes.Structure):
    """elmo_session_params."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("stateful", c_int),
        ("max_sentences", c_size_t),
        ("max_tokens_per_sentence", c_size_t),
        ("max_tokens_per_call", c_size_t),
        ("n_threads", c_size_t),
    ]


class OutputParams(ctypes.Structure):
    """elmo_output_params."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("kind", c_output_kind),
        ("lstm_layer", c_size_t),
        ("mix_weights", POINTER(c_float)),
        ("mix_weight_count", c_size_t),
        ("mix_gamma", c_float),
        ("mix_layer_norm", c_int),
        ("sentence_boundaries", c_int),  # since 0.2
        ("reserved", c_int),
    ]


#: (name, restype, argtypes, returns a status) for every function of elmo.h, in header order.
FUNCTIONS = [
    ("elmo_version", c_char_p, [], False),
    ("elmo_status_string", c_char_p, [c_status], False),
    ("elmo_last_error", c_char_p, [], False),
    ("elmo_model_params_init", c_status, [POINTER(ModelParams), c_size_t], True),
    ("elmo_model_load", c_status, [c_char_p, POINTER(ModelParams), POINTER(ModelPointer)], True),
    ("elmo_model_save_native", c_status, [ModelPointer, c_char_p], True),
    ("elmo_model_precision", c_status, [ModelPointer, POINTER(c_precision)], True),
    ("elmo_model_stored_precision", c_status, [c_char_p, c_char_p, POINTER(c_precision)], True),
    ("elmo_model_cache_stats", c_status, [ModelPointer, POINTER(c_size_t), POINTER(c_size_t), POINTER(c_size_t)], True),
    ("elmo_model_free", c_status, [ModelPointer], True),
    ("elmo_model_token_dim", c_status, [ModelPointer, POINTER(c_size_t)], True),
    ("elmo_model_output_dim", c_status, [ModelPointer, POINTER(c_size_t)], True),
    ("elmo_model_output_layer_count", c_status, [ModelPointer, POINTER(c_size_t)], True),
    ("elmo_model_lstm_layer_count", c_status, [ModelPointer, POINTER(c_size_t)], True),
    ("elmo_model_characters_per_token", c_status, [ModelPointer, POINTER(c_size_t)], True),
    ("elmo_model_default_mix", c_status,
     [ModelPointer, POINTER(c_float), c_size_t, POINTER(c_float), POINTER(c_int)], True),
    ("elmo_session_params_init", c_status, [POINTER(SessionParams), c_size_t], True),
    ("elmo_session_create", c_status, [ModelPointer, POINTER(SessionParams), POINTER(SessionPointer)], True),
    ("elmo_session_free", c_status, [SessionPointer], True),
    ("elmo_session_reset", c_status, [SessionPointer], True),
    ("elmo_session_release_memory", c_status, [SessionPointer], True),
    ("elmo_output_params_init", c_status, [POINTER(OutputParams), c_size_t], True),
    ("elmo_tokens_output_size", c_status,
     [ModelPointer, POINTER(c_size_t), c_size_t, POINTER(OutputParams), POINTER(c_size_t)], True),
    ("elmo_texts_output_size", c_status,
     [ModelPointer, POINTER(c_char_p), c_size_t, POINTER(OutputParams), POINTER(c_size_t), POINTER(c_size_t)], True),
    ("elmo_output_shape", c_status,
     [ModelPointer, POINTER(OutputParams), c_size_t, POINTER(c_size_t), c_size_t, POINTER(c_size_t)], True),
    ("elmo_embed_tokens", c_status,
     [SessionPointer, POINTER(c_char_p), POINTER(c_size_t), c_size_t, POINTER(OutputParams), POINTER(c_float),
      c_size_t], True),
    ("elmo_embed_texts", c_status,
     [SessionPointer, POINTER(c_char_p), c_size_t, POINTER(OutputParams), POINTER(c_float), c_size_t,
      POINTER(c_size_t)], True),
    ("elmo_embed_character_ids", c_status,
     [SessionPointer, POINTER(c_int), c_size_t, POINTER(c_size_t), c_size_t, POINTER(OutputParams),
      POINTER(c_float), c_size_t], True),
]

LIBRARY_ENV = "ELMO_LIBRARY"
BUNDLED_NAME = "libelmo.so"
SYSTEM_NAMES = ("libelmo.so.0", "libelmo.so")

_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None
_library_path: Optional[str] = None


def _check_status(lib: ctypes.CDLL):
    """An errcheck that turns a nonzero elmo_status into an exception (on the calling
    thread, right after the call, so elmo_last_error() is that call's message)."""
    last_error = lib.elmo_last_error

    def errcheck(result, func, arguments):
        if result != 0:
            message = (last_error() or b"").decode("utf-8", "replace")
            raise error_for_status(result, message or f"{func.__name__} failed")
        return result

    return errcheck


def _declare(lib: ctypes.CDLL) -> None:
    for name, restype, argtypes, _ in FUNCTIONS:
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    errcheck = _check_status(lib)
    for name, _, _, checked in FUNCTIONS:
        if checked:
            getattr(lib, name).errcheck = errcheck


def _candidates() -> List[str]:
    """Where the library is looked for after $ELMO_LIBRARY, in order."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, BUNDLED_NAME)]
    found.extend(SYSTEM_NAMES)
    system = ctypes.util.find_library("elmo")
    if system and system not in found:
        found.append(system)
    return found


def _open(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)
    try:
        _declare(lib)
    except AttributeError as error:  # a library that is not libelmo, or an older one
        raise OSError(f"not a compatible libelmo ({error})") from None
    return lib


def _check_compatible(lib: ctypes.CDLL, path: str) -> None:
    """The library must accept this module's struct sizes (it refuses sizes it does not know)."""
    version = lib.elmo_version().decode()
    major = int(version.split(".")[0])
    if major != HEADER_VERSION[0]:
        raise LibraryNotFoundError(f"{path} is libelmo {version}; this package needs libelmo "
                                   f"{HEADER_VERSION[0]}.x")
    for struct, init in ((ModelParams, lib.elmo_model_params_init), (SessionParams, lib.elmo_session_params_init),
                         (OutputParams, lib.elmo_output_params_init)):
        params = struct()
        try:
            init(ctypes.byref(params), ctypes.sizeof(struct))
        except ElmoError as error:
            raise LibraryNotFoundError(f"{path} (libelmo {version}) is older than this package: {error}") from None


def load() -> ctypes.CDLL:
    """The loaded library (opened on first use). Raises LibraryNotFoundError listing every
    place it looked when none can be opened."""
    global _library, _library_path
    if _library is not None:
        return _library
    with _lock:
        if _library is not None:
            return _library
        tried = []
        explicit = os.environ.get(LIBRARY_ENV)
        if explicit:
            try:
                lib = _open(explicit)
            except OSError as error:
                raise LibraryNotFoundError(f"cannot load libelmo from ${LIBRARY_ENV}={explicit}: {error}") from None
            path = explicit
        else:
            lib = None
            for candidate in _candidates():
                if os.sep in candidate and not os.path.exists(candidate):
                    tried.append(f"{candidate} (no such file)")
                    continue
                try:
                    lib = _open(candidate)
                    path = candidate
                    break
                except OSError as error:
                    tried.append(f"{candidate} ({error})")
            if lib is None:
                raise LibraryNotFoundError(
                    "libelmo.so not found. Looked in: $" + LIBRARY_ENV + " (not set); " + "; ".join(tried)
                    + ". Build it with `make lib` and reinstall this package, install it with "
                    "`make install PREFIX=...` (and run ldconfig or set LD_LIBRARY_PATH), or set "
                    f"${LIBRARY_ENV} to the path of libelmo.so.")
        _check_compatible(lib, path)
        _library, _library_path = lib, path
        return lib


def library_path() -> str:
    """The path (or loader name) the library was opened from."""
    load()
    assert _library_path is not None
    return _library_path


def status_string(status: int) -> str:
    """elmo_status_string: the constant name of a status code."""
    return load().elmo_status_string(status).decode()


def version() -> str:
    """elmo_version: the loaded library's version, "MAJOR.MINOR.PATCH"."""
    return load().elmo_version().decode()


def last_error() -> str:
    """elmo_last_error: the calling thread's last failure message ("" if none)."""
    return (load().elmo_last_error() or b"").decode("utf-8", "replace")


def model_params(options_path: Optional[bytes] = None) -> ModelParams:
    """Default elmo_model_params (from the library), with options_path set if given."""
    params = ModelParams()
    load().elmo_model_params_init(ctypes.byref(params), ctypes.sizeof(params))
    params.options_path = options_path
    return params


def session_params() -> SessionParams:
    """Default elmo_session_params, from the library."""
    params = SessionParams()
    load().elmo_session_params_init(ctypes.byref(params), ctypes.sizeof(params))
    return params


def output_params() -> OutputParams:
    """Default elmo_output_params, from the library."""
    params = OutputParams()
    load().elmo_output_params_init(ctypes.byref(params), ctypes.sizeof(params))
    return params


__all__ = ["load", "library_path", "version", "status_string", "last_error", "model_params", "session_params",
           "output_params", "ModelParams", "SessionParams", "OutputParams", "ModelPointer", "SessionPointer",
           "FUNCTIONS"]
