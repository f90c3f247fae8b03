"""Download progress (elmo/_progress.py): tqdm.auto when tqdm is installed, the one-line
terminal bar otherwise, plain lines (no carriage returns) in a notebook, nothing in a pipe."""

import io
import sys
import types

import pytest

import elmo
from elmo import _progress, download
from elmo._progress import Progress, progress_bar

from http_server import FileServer, spec_files


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


@pytest.fixture
def notebook(monkeypatch):
    """A Jupyter kernel as IPython shows one: ipykernel imported, a shell with a kernel."""
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", ipython)


class RecordingTqdm:
    """Stands in for tqdm.auto.tqdm: records what the bar was made with and told."""
    made = []

    def __init__(self, **kwargs):
        self.kwargs, self.updates, self.closed = kwargs, [], False
        RecordingTqdm.made.append(self)

    def update(self, n):
        self.updates.append(n)

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch):
    RecordingTqdm.made = []
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = RecordingTqdm
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    return RecordingTqdm


def test_not_a_notebook_here():
    assert not _progress.in_notebook() or "ipykernel" in sys.modules


def test_notebook_without_tqdm_prints_plain_lines(notebook, no_tqdm):
    stream = io.StringIO()
    bar = progress_bar("original/weights.hdf5", total=1000, stream=stream)
    assert bar.enabled
    for _ in range(100):
        bar.update(10)
    bar.finish()
    text = stream.getvalue()
    assert "\r" not in text and "\033" not in text
    lines = text.splitlines()
    assert len(lines) == 11  # 0%, 10%, ..., 100%
    assert lines[-1].startswith("original/weights.hdf5: 1.0 KB / 1.0 KB [########################] 100.0%")
    # The first update (1%), then one line per tenth.
    assert [line.split("]")[1].split("%")[0].strip() for line in lines] == ["1.0"] + [f"{p}.0" for p in range(10, 101, 10)]


def test_terminal_without_tqdm_redraws_one_line(no_tqdm):
    stream = Terminal()
    bar = progress_bar("x", total=100, stream=stream)
    assert isinstance(bar, Progress) and not bar.lines
    bar._last_draw = -1.0
    bar.update(50)
    bar.finish()
    assert stream.getvalue().startswith("\rx: 50 B / 100 B") and stream.getvalue().endswith("\n")


def test_pipe_gets_nothing(no_tqdm):
    stream = io.StringIO()
    bar = progress_bar("x", total=100, stream=stream)
    bar.update(100)
    bar.finish()
    assert not bar.enabled and stream.getvalue() == ""


def test_tqdm_auto_is_used_when_installed(notebook, fake_tqdm):
    bar = progress_bar("original/weights.hdf5", total=1000, start=200)
    bar.update(300)
    bar.update(500)
    bar.finish()
    (made,) = fake_tqdm.made
    assert made.kwargs["total"] == 1000 and made.kwargs["initial"] == 200
    assert made.kwargs["desc"] == "original/weights.hdf5" and made.kwargs["unit"] == "B"
    assert made.updates == [300, 500] and made.closed


def test_tqdm_is_not_used_when_progress_is_off(notebook, fake_tqdm):
    bar = progress_bar("x", total=10, enabled=False)
    bar.update(10)
    bar.finish()
    assert fake_tqdm.made == []


def test_tqdm_widget_without_ipywidgets_falls_back_to_lines(notebook, monkeypatch):
    def refuse(**kwargs):
        raise ImportError("IProgress not found. Please update jupyter and ipywidgets.")
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = refuse
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    stream = io.StringIO()
    bar = progress_bar("x", total=10, stream=stream)
    bar.update(10)
    bar.finish()
    lines = stream.getvalue().split("\n")
    assert len(lines) == 2 and lines[1] == "" and "\r" not in lines[0]
    assert lines[0].startswith("x: 10 B / 10 B [########################] 100.0%")


def test_real_tqdm_draws_the_download(fixture_dir, tmp_path, monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    assert tqdm
    monkeypatch.setenv("ELMO_CACHE_DIR", str(tmp_path / "cache"))
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    with FileServer(spec_files(fixture_dir, names=("small",))) as server:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", server.base_url)
        download.fetch_model("small", progress=True)
    assert "small/weights.hdf5" in stream.getvalue() and "100%" in stream.getvalue()


def test_download_in_a_notebook_shows_lines(fixture_dir, tmp_path, monkeypatch, notebook, no_tqdm, capsys):
    monkeypatch.setenv("ELMO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ALLENNLP_CACHE_ROOT", str(tmp_path / "allennlp"))
    with FileServer(spec_files(fixture_dir, names=("small",))) as server:
        monkeypatch.setenv("ELMO_DOWNLOAD_BASE_URL", server.base_url)
        with elmo.Model("small") as m:
            assert m.output_dim == 32
    err = capsys.readouterr().err
    assert "\r" not in err
    assert [line for line in err.splitlines() if line.startswith("small/weights.hdf5: ")][-1].count("100.0%") == 1
