"""A one-line download progress bar on stderr (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Bytes done / total, percentage, rate and ETA, redrawn at most ten times a second."""

    def __init__(self, label: str, total: Optional[int], start: int = 0, enabled: Optional[bool] = None,
                 stream: Optional[TextIO] = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.label = label
        self.total = total
        self.done = start
        self._start_bytes = start
        self._started = time.monotonic()
        self._last_draw = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(now)

    def line(self, now: Optional[float] = None) -> str:
        """The bar's current text."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self._started, 1e-6)
        rate = (self.done - self._start_bytes) / elapsed
        text = f"{self.label}: {_size(self.done)}"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * 24)
            text += f" / {_size(self.total)} [{'#' * filled}{'.' * (24 - filled)}] {fraction * 100:5.1f}%"
        text += f"  {_size(rate)}/s"
        if self.total and rate > 0:
            text += f"  ETA {_duration(max(self.total - self.done, 0) / rate)}"
        return text

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\033[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
