"""Reference-counted C handles: freed exactly once, never while a call is using them.

A handle starts with one reference (its owner's). Every call into the library takes a
reference for its duration; a session takes one on its model for its whole life. The C
free function runs when the count drops to zero, on whichever thread drops it. So closing
a model or a session while another thread is inside a call on it defers the free until that
call returns, and a handle that has been freed is never passed to the library again (using
it raises instead).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from .errors import InvalidArgumentError


class SharedHandle:
    """A C pointer plus the function that frees it, with a thread-safe reference count."""

    def __init__(self, pointer, free: Callable[[object], None], what: str,
                 on_freed: Optional[Callable[[], None]] = None):
        self._pointer = pointer
        self._free = free
        self._what = what
        self._on_freed = on_freed
        self._count = 1
        self._lock = threading.Lock()

    @property
    def freed(self) -> bool:
        """True once the C object has been freed."""
        with self._lock:
            return self._pointer is None

    def acquire(self):
        """Takes a reference and returns the pointer; raises if the handle is already freed."""
        with self._lock:
            if self._pointer is None:
                raise InvalidArgumentError(f"the {self._what} is closed")
            self._count += 1
            return self._pointer

    def release(self) -> None:
        """Drops a reference; the last one frees the C object."""
        with self._lock:
            if self._count == 0:
                return
            self._count -= 1
            if self._count > 0:
                return
            pointer, self._pointer = self._pointer, None
        try:
            self._free(pointer)
        finally:
            if self._on_freed is not None:
                self._on_freed()

    @contextmanager
    def use(self) -> Iterator[object]:
        """The pointer, referenced for the duration of a ``with`` block."""
        pointer = self.acquire()
        try:
            yield pointer
        finally:
            self.release()
