"""ELMoForManyLangs models (``manylangs:<code>``) in libelmo's cache: downloaded as a zip, unpacked
into a folder that appears whole or not at all, verified before every reuse.

Layout, for the model folder M (``<cache>/manylangs-<code>/model``, or the ``--dir`` given):

- the archive downloads to ``M.zip`` with :mod:`elmo.download`'s code (``M.zip.part`` resumed
  with a Range request, size and ETag-MD5 checks, ``M.zip.sha256`` sidecar);
- it is unpacked (:func:`elmo.manylangs_catalog.extract_model`: no member outside the folder, no
  links) into ``M.<uid>.tmp``; the model folder in it gets a manifest, ``libelmo-files.sha256``
  (a comment line with the archive's address and SHA-256, then ``<sha256>  <file>`` per file, as
  ``sha256sum`` writes them), and is renamed to M; then the archive and its sidecar are removed
  (as TF Hub's cache removes its tarball), so a model takes its unpacked size once;
- reuse: every file the manifest lists must be there and match it. In libelmo's cache a folder
  that does not (damaged, or its manifest gone) is downloaded and unpacked again, with a note
  naming it; a ``--dir`` folder that exists without a manifest is not libelmo's and is refused;
- one install at a time per parent folder (an advisory lock on that folder); an install that
  waited finds the other's model in place and fetches nothing.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import re
import shutil
import sys
import uuid
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

from . import download, manylangs_catalog
from .errors import DownloadError, InvalidModelError
from .manylangs_catalog import ManyLangsModel

#: The manifest written into an unpacked model folder (what reuse verifies).
MANIFEST = "libelmo-files.sha256"

_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")


def model_folder(entry: ManyLangsModel) -> str:
    """Where the cache keeps the unpacked model: ``<cache>/manylangs-<code>/model``."""
    return os.path.join(download.cache_dir(), f"manylangs-{entry.code}", "model")


def _manifest_entries(folder: str) -> Optional[List[Tuple[str, str]]]:
    """(hex SHA-256, relative path) pairs of the folder's manifest; None when it has none or it
    is unreadable; paths that would leave the folder make it unreadable."""
    try:
        with open(os.path.join(folder, MANIFEST), "r", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    entries = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if not match:
            return None
        path = match.group(2)
        if os.path.isabs(path) or ".." in path.split("/"):
            return None
        entries.append((match.group(1).lower(), path))
    return entries or None


def state(folder: str) -> Tuple[str, str]:
    """(kind, detail) of a model folder: ``missing``, ``empty`` (an empty folder), ``foreign``
    (something that is not a folder libelmo unpacked), ``damaged`` (a file missing or not
    matching the manifest; detail names it) or ``ok``."""
    if not os.path.lexists(folder):
        return "missing", f"{folder} does not exist"
    if not os.path.isdir(folder) or os.path.islink(folder):
        return "foreign", f"{folder} is not a folder"
    if not os.listdir(folder):
        return "empty", f"{folder} is empty"
    if not os.path.isfile(os.path.join(folder, MANIFEST)):
        return "foreign", f"{folder} has no {MANIFEST} (it is not a model libelmo unpacked)"
    entries = _manifest_entries(folder)
    if entries is None:
        return "damaged", f"the manifest {os.path.join(folder, MANIFEST)} is unreadable"
    for digest, relative in entries:
        path = os.path.join(folder, relative)
        if not os.path.isfile(path):
            return "damaged", f"the unpacked model {folder} is damaged: {relative} is missing"
        if download.file_sha256(path) != digest:
            return "damaged", f"the unpacked model {folder} is damaged: {relative} does not match its recorded SHA-256"
    return "ok", ""


def _write_manifest(folder: str, url: str, archive_sha256: str) -> None:
    lines = [f"# libelmo: unpacked from {url} (archive SHA-256 {archive_sha256})"]
    for root, directories, files in os.walk(folder):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if relative != MANIFEST:
                lines.append(f"{download.file_sha256(path)}  {relative}")
    with open(os.path.join(folder, MANIFEST), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def _locked(parent: str, what: str, quiet: bool) -> Iterator[None]:
    """An exclusive advisory lock on folder `parent` (released when the process ends, however)."""
    fd = os.open(parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            if not quiet:
                print(f"elmo: waiting for another download of {what}", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def install(entry: ManyLangsModel, folder: str, *, replace_foreign: bool, progress: Optional[bool] = None,
            quiet: bool = False) -> bool:
    """Downloads and unpacks model `entry` into `folder` (layout above); returns whether anything
    was fetched (False: the folder already held it, e.g. another process just put it there).
    `replace_foreign`: a folder without a manifest may be replaced (libelmo's cache) or not."""
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    with _locked(parent, f"{entry.name} into {folder}", quiet):
        kind, detail = state(folder)
        if kind == "ok":
            return False
        if kind == "foreign" and not replace_foreign:
            raise DownloadError(f"{detail}: not replacing it; choose another folder or remove it")
        if kind in ("damaged", "foreign") and not quiet:
            print(f"elmo: {detail}; downloading it again", file=sys.stderr)
        # Under the lock no other install of this folder runs: these are a killed one's leftovers.
        for leftover in glob.glob(glob.escape(folder) + ".*.tmp") + glob.glob(glob.escape(folder) + ".*.old"):
            shutil.rmtree(leftover, ignore_errors=True)
        url = entry.url()
        archive = folder + ".zip"
        # A zip ends with its central directory: a cut archive is refused when unpacked even
        # from a server that does not state the size.
        digest = download.download_file(url, archive, expected_sha256=entry.sha256,
                                        progress=False if quiet else progress,
                                        label=f"{entry.name} ({entry.language})", size_unknown_ok=True)
        task = uuid.uuid4().hex
        temporary, old = f"{folder}.{task}.tmp", f"{folder}.{task}.old"
        try:
            try:
                unpacked = manylangs_catalog.extract_model(archive, temporary)
            except InvalidModelError as error:
                _remove(archive, archive + ".sha256")
                raise DownloadError(f"{url} is not a usable ELMoForManyLangs archive ({error.message}); removed "
                                    "the download, nothing was installed") from None
            _write_manifest(unpacked, url, digest)
            if os.path.lexists(folder):
                os.rename(folder, old)  # damaged, empty or (in the cache) foreign: replaced whole
            os.rename(unpacked, folder)
            download._fsync_directory(parent)
            _remove(archive, archive + ".sha256")
            return True
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
            if os.path.isdir(old) and not os.path.islink(old):
                shutil.rmtree(old, ignore_errors=True)
            elif os.path.lexists(old):
                _remove(old)
