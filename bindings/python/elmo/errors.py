"""Exceptions raised by the elmo package.

Every failure of the C library becomes an :class:`ElmoError` subclass chosen by the
status code (``ELMO_ERR_IO`` -> :class:`ElmoIOError`, ...). Its message is the library's
own ``elmo_last_error()`` text; ``status`` and ``status_name`` carry the code.
Problems the Python layer detects before calling the library (a wrong argument type, an
unknown output name) use the same classes, so one ``except elmo.ElmoError`` catches all.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

# The status codes of include/elmo.h (enum elmo_status).
OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_INVALID_INPUT = 2
ERR_IO = 3
ERR_INVALID_MODEL = 4
ERR_SHAPE_MISMATCH = 5
ERR_LIMIT_EXCEEDED = 6
ERR_OUT_OF_MEMORY = 7
ERR_BUFFER_TOO_SMALL = 8
ERR_SESSION_BUSY = 9
ERR_INTERNAL = 10

STATUS_NAMES: Dict[int, str] = {
    OK: "ELMO_OK",
    ERR_INVALID_ARGUMENT: "ELMO_ERR_INVALID_ARGUMENT",
    ERR_INVALID_INPUT: "ELMO_ERR_INVALID_INPUT",
    ERR_IO: "ELMO_ERR_IO",
    ERR_INVALID_MODEL: "ELMO_ERR_INVALID_MODEL",
    ERR_SHAPE_MISMATCH: "ELMO_ERR_SHAPE_MISMATCH",
    ERR_LIMIT_EXCEEDED: "ELMO_ERR_LIMIT_EXCEEDED",
    ERR_OUT_OF_MEMORY: "ELMO_ERR_OUT_OF_MEMORY",
    ERR_BUFFER_TOO_SMALL: "ELMO_ERR_BUFFER_TOO_SMALL",
    ERR_SESSION_BUSY: "ELMO_ERR_SESSION_BUSY",
    ERR_INTERNAL: "ELMO_ERR_INTERNAL",
}


class ElmoError(Exception):
    """A libelmo failure: ``status`` (int), ``status_name`` and the message."""

    #: The status code this class stands for (None only for the base class).
    default_status: Optional[int] = None

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.status = self.default_status if status is None else status
        self.status_name = STATUS_NAMES.get(self.status, "unknown status") if self.status is not None else None

    def __str__(self) -> str:
        if self.status_name is None:
            return self.message
        return f"{self.message} [{self.status_name}]"


class InvalidArgumentError(ElmoError, ValueError):
    """ELMO_ERR_INVALID_ARGUMENT: a wrong type, unknown output name, out-of-range value."""
    default_status = ERR_INVALID_ARGUMENT


class InvalidInputError(ElmoError, ValueError):
    """ELMO_ERR_INVALID_INPUT: text that cannot be embedded (empty batch, sentence or token, invalid UTF-8)."""
    default_status = ERR_INVALID_INPUT


class ElmoIOError(ElmoError):
    """ELMO_ERR_IO: a file is missing or cannot be read (also: a model download failed)."""
    default_status = ERR_IO


class InvalidModelError(ElmoError):
    """ELMO_ERR_INVALID_MODEL: a model file is malformed."""
    default_status = ERR_INVALID_MODEL


class ShapeMismatchError(ElmoError):
    """ELMO_ERR_SHAPE_MISMATCH: a weight tensor's shape disagrees with the options."""
    default_status = ERR_SHAPE_MISMATCH


class LimitExceededError(ElmoError):
    """ELMO_ERR_LIMIT_EXCEEDED: a batch exceeds the session's limits, or a size overflows."""
    default_status = ERR_LIMIT_EXCEEDED


class ElmoMemoryError(ElmoError, MemoryError):
    """ELMO_ERR_OUT_OF_MEMORY: memory for the computation could not be allocated."""
    default_status = ERR_OUT_OF_MEMORY


class BufferTooSmallError(ElmoError):
    """ELMO_ERR_BUFFER_TOO_SMALL: an output buffer is smaller than the size query says."""
    default_status = ERR_BUFFER_TOO_SMALL


class SessionBusyError(ElmoError):
    """ELMO_ERR_SESSION_BUSY: the session is in use by another thread right now."""
    default_status = ERR_SESSION_BUSY


class InternalError(ElmoError):
    """ELMO_ERR_INTERNAL: a bug in libelmo; please report it with the message."""
    default_status = ERR_INTERNAL


class DownloadError(ElmoIOError):
    """A model could not be downloaded or verified (offline, HTTP error, size or checksum mismatch)."""


class LibraryNotFoundError(ElmoError, OSError):
    """libelmo.so could not be found or loaded; the message lists every place that was tried."""

    def __init__(self, message: str):
        ElmoError.__init__(self, message)


_BY_STATUS: Dict[int, Type[ElmoError]] = {
    cls.default_status: cls
    for cls in (InvalidArgumentError, InvalidInputError, ElmoIOError, InvalidModelError, ShapeMismatchError,
                LimitExceededError, ElmoMemoryError, BufferTooSmallError, SessionBusyError, InternalError)
}


def error_for_status(status: int, message: str) -> ElmoError:
    """The exception for a nonzero status code returned by the library."""
    cls = _BY_STATUS.get(status, ElmoError)
    return cls(message, status)
