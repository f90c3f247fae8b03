"""Download progress, fit for where it is shown.

- tqdm installed: ``tqdm.auto`` (a widget bar in Jupyter/Colab, a text bar in a terminal);
- otherwise, on a terminal: one line redrawn in place (carriage return), on stderr;
- otherwise, in a notebook: a plain line at each tenth of the download (no carriage returns,
  which a notebook cell keeps as a growing pile of lines);
- anywhere else (a pipe, a log file, a test): nothing, unless asked for.
"""

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
                 stream: Optional[TextIO] = None, lines: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = _isatty(self.stream)
        self.enabled = enabled
        #: Plain lines at each tenth (for notebooks) instead of one line redrawn in place.
        self.lines = lines
        self._tenths_shown = -1
        self.label = label
        self.total = total
        self.done = start
        self._start_bytes = start
        self._started = time.monotonic()
        self._last_draw = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and self.lines:
            tenths = int(self.done * 10 // self.total) if self.total else -1
            if tenths > self._tenths_shown or (tenths < 0 and now - self._last_draw >= 30):
                self._tenths_shown = tenths
                self._last_draw = now
                self.stream.write(self.line(now) + "\n")
                self.stream.flush()
        elif self.enabled and now - self._last_draw >= 0.1:
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
        if self.enabled and self.lines:
            if self.total is None or self._tenths_shown < 10:
                self.stream.write(self.line() + "\n")
                self.stream.flush()
        elif self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


class _TqdmProgress:
    """The same interface over a ``tqdm.auto`` bar."""

    def __init__(self, bar):
        self.bar = bar
        self.enabled = True

    def update(self, n: int) -> None:
        self.bar.update(n)

    def finish(self) -> None:
        self.bar.close()


def _isatty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def in_notebook() -> bool:
    """Whether this runs in a Jupyter (or Colab) kernel: IPython's shell is a kernel's."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _tqdm_bar(label: str, total: Optional[int], start: int, stream: TextIO):
    """A ``tqdm.auto`` bar, or None when tqdm is not installed or cannot draw here (e.g. its
    notebook widget without ipywidgets)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    try:
        bar = tqdm(total=total, initial=start, desc=label, unit="B", unit_scale=True, unit_divisor=1000,
                   file=stream, leave=True)
    except ImportError:  # tqdm.notebook: "IProgress not found" (no ipywidgets)
        return None
    return _TqdmProgress(bar)


def progress_bar(label: str, total: Optional[int], start: int = 0, enabled: Optional[bool] = None,
                 stream: Optional[TextIO] = None):
    """The progress display for a download (see the module's docstring). `enabled`: None
    decides by where stderr goes (a terminal or a notebook: shown); False: nothing."""
    stream = stream if stream is not None else sys.stderr
    notebook = in_notebook()
    tty = _isatty(stream)
    if enabled is None:
        enabled = tty or notebook
    if not enabled:
        return Progress(label, total, start, enabled=False, stream=stream)
    bar = _tqdm_bar(label, total, start, stream)
    if bar is not None:
        return bar
    return Progress(label, total, start, enabled=True, stream=stream, lines=notebook or not tty)
