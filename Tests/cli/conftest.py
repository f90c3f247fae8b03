"""Shared pieces of the `elmo` command's tests.

The binary is $ELMO (set by `make test-cli`), else .build/release/elmo-cli. The bilm-tf
fixture is $ELMO_FIXTURES or ../shared/fixtures/bilm-tf beside the repository; tests that
need it skip with a message when it is absent.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _binary() -> Path:
    return Path(os.environ.get("ELMO") or REPO / ".build/release/elmo-cli")


def _fixtures():
    d = os.environ.get("ELMO_FIXTURES")
    path = Path(d) if d else REPO.parent / "shared/fixtures/bilm-tf"
    return path if (path / "lm_weights.hdf5").exists() else None


@pytest.fixture(scope="session")
def elmo_bin() -> Path:
    b = _binary()
    if not b.exists():
        pytest.fail(f"the elmo binary is missing at {b}: run `make test-cli` (or set ELMO)")
    return b


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    d = _fixtures()
    if d is None:
        pytest.skip("bilm-tf fixtures not found: set ELMO_FIXTURES or put them at ../shared/fixtures/bilm-tf")
    return d


@pytest.fixture(scope="session")
def fixture_sentences(fixture_dir):
    """sentences[k][i] as the fixture's space-tokenized strings."""
    return json.loads((fixture_dir / "sentences.json").read_text())


@pytest.fixture
def run(elmo_bin, tmp_path):
    """run(*args, input=None, env=None) -> CompletedProcess with text stdout/stderr, in tmp_path,
    with a private cache directory and no download server unless the test sets one."""

    def _run(*args, input=None, env=None, binary_output=False, cwd=None):
        e = dict(os.environ)
        e["ELMO_CACHE_DIR"] = str(tmp_path / "cache")
        e.setdefault("ELMO_DOWNLOAD_BASE_URL", "http://127.0.0.1:9/")  # discard port: nothing listens
        e.pop("ELMO_PROGRESS_INTERVAL", None)
        if env:
            e.update(env)
        return subprocess.run(
            [str(elmo_bin), *map(str, args)],
            input=input,
            capture_output=True,
            text=not binary_output,
            env=e,
            cwd=cwd or tmp_path,
            timeout=600,
        )

    return _run


def write_lines(path: Path, lines, newline="\n"):
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path
