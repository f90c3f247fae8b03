"""TF Hub's module cache, read and written the way ``tensorflow_hub`` does it, so a module
TF Hub (or vectorhub) already downloaded is used offline, and one libelmo downloads is found
by TF Hub.

TF Hub's layout (``tensorflow_hub/resolver.py``, ``compressed_module_resolver.py``):

- the cache is ``$TFHUB_CACHE_DIR``, else ``<system temp dir>/tfhub_modules``;
- a module lives in ``<cache>/<sha1>/``, ``<sha1>`` the hex SHA-1 of the handle's UTF-8 bytes
  exactly as the user wrote it (``https://tfhub.dev/google/elmo/3`` and the same with
  ``?tf-hub-format=compressed`` are two folders: TF Hub appends the query when it downloads,
  after naming the folder);
- a download holds ``<cache>/<sha1>.lock`` (``<host>.<pid>.<task uid>``), unpacks into
  ``<cache>/<sha1>.<task uid>.tmp``, writes ``<cache>/<sha1>.descriptor.txt`` (handle, time,
  host, pid: for people, not read back) and renames the temporary folder into place; a folder
  that exists is complete as far as TF Hub is concerned. A lock whose holder is gone (same host,
  dead process, or no progress for 10 minutes, TF Hub's own rule) is stale.

libelmo checks more than TF Hub does before loading: the module files must be there
(``saved_model.pb``, ``variables/variables.index``, every ``variables.data-NNNNN-of-MMMMM``
shard); a folder that lacks one is an error naming the folder (never deleted for you); a
truncated data file is caught by the library when it loads (an error naming the file).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import uuid
from typing import List, Optional, Tuple

from . import download
from .errors import DownloadError, InvalidArgumentError

CACHE_DIR_ENV = "TFHUB_CACHE_DIR"
LOAD_FORMAT_ENV = "TFHUB_MODEL_LOAD_FORMAT"
#: Where libelmo downloads compressed google/elmo modules from (tests point it at a local
#: server): ``<base>google/elmo/<version>?tf-hub-format=compressed``. Unset: the handle itself
#: with ``?tf-hub-format=compressed``, as TF Hub does.
DOWNLOAD_BASE_ENV = "ELMO_TFHUB_BASE_URL"
LOAD_FORMATS = ("COMPRESSED", "UNCOMPRESSED", "AUTO")

#: TF Hub's LOCK_FILE_TIMEOUT_SEC: a lock whose download made no progress this long is stale.
LOCK_TIMEOUT_SECONDS = 10 * 60
_WAIT_SECONDS = 0.25

_DATA_SHARD = re.compile(r"variables\.data-(\d{5})-of-(\d{5})")


# ---- where ----------------------------------------------------------------------------------

def cache_dir() -> Tuple[str, bool]:
    """(TF Hub's cache directory, whether $TFHUB_CACHE_DIR chose it)."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:  # relative (vectorhub's Colab advice: "drive/MyDrive/") means from here, as for TF Hub
        return os.path.abspath(os.path.expanduser(explicit)), True
    return os.path.join(tempfile.gettempdir(), "tfhub_modules"), False


def load_format() -> str:
    """$TFHUB_MODEL_LOAD_FORMAT (default AUTO). For libelmo: COMPRESSED and AUTO read the cache
    and, with $TFHUB_CACHE_DIR set, download the compressed module into it (as TF Hub does);
    UNCOMPRESSED (TF Hub: read from Google Cloud Storage, cache nothing) reads a cached module
    but never writes TF Hub's cache (a download goes to libelmo's own cache)."""
    value = (os.environ.get(LOAD_FORMAT_ENV) or "AUTO").strip().upper()
    if value not in LOAD_FORMATS:
        raise InvalidArgumentError(f"${LOAD_FORMAT_ENV}={os.environ.get(LOAD_FORMAT_ENV)!r}: use one of "
                                   f"{', '.join(LOAD_FORMATS)}")
    return value


def folder_name(handle: str) -> str:
    """The cache folder TF Hub gives `handle`: the hex SHA-1 of its UTF-8 bytes, as written."""
    return hashlib.sha1(handle.encode("utf8")).hexdigest()


def equivalent_handles(handle: str, version: str) -> List[str]:
    """`handle` first, then the other addresses of the same google/elmo version (their cached
    folders hold the same module, so any of them will do for reading)."""
    forms = [handle,
             f"https://tfhub.dev/google/elmo/{version}",
             f"https://tfhub.dev/google/elmo/{version}?tf-hub-format=compressed",
             f"https://www.kaggle.com/models/google/elmo/frameworks/TensorFlow1/variations/elmo/versions/{version}",
             f"https://www.kaggle.com/models/google/elmo/TensorFlow1/elmo/{version}",
             f"https://storage.googleapis.com/tfhub-modules/google/elmo/{version}.tar.gz"]
    return list(dict.fromkeys(forms))


def download_url(handle: str, version: str) -> str:
    """The compressed module's URL (the handle with ``?tf-hub-format=compressed`` appended, or
    under $ELMO_TFHUB_BASE_URL)."""
    base = os.environ.get(DOWNLOAD_BASE_ENV)
    if base:
        return f"{base if base.endswith('/') else base + '/'}google/elmo/{version}?tf-hub-format=compressed"
    if handle.lower().endswith(".tar.gz") or "tf-hub-format=compressed" in handle:
        return handle
    if "://" not in handle:
        handle = "https://" + handle
    return handle + ("&" if "?" in handle else "?") + "tf-hub-format=compressed"


# ---- what is there --------------------------------------------------------------------------

def missing_files(folder: str) -> List[str]:
    """The module files `folder` lacks (empty: complete as far as files go)."""
    missing = []
    if not (os.path.isfile(os.path.join(folder, "saved_model.pb"))
            or os.path.isfile(os.path.join(folder, "tfhub_module.pb"))):
        missing.append("saved_model.pb")
    variables = os.path.join(folder, "variables")
    if not os.path.isfile(os.path.join(variables, "variables.index")):
        missing.append("variables/variables.index")
    try:
        names = os.listdir(variables)
    except OSError:
        names = []
    shards = [m for m in map(_DATA_SHARD.fullmatch, names) if m]
    if not shards:
        missing.append("variables/variables.data-00000-of-NNNNN")
    else:
        count = int(shards[0].group(2))
        present = {int(m.group(1)) for m in shards if int(m.group(2)) == count}
        missing.extend(f"variables/variables.data-{i:05d}-of-{count:05d}" for i in range(count) if i not in present)
    return missing


def lock_holder(lock: str) -> Optional[str]:
    """The lock file's content (``<host>.<pid>.<uid>``), None when there is no lock."""
    try:
        with open(lock, "r", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def lock_is_stale(lock: str, holder: str, now: Optional[float] = None) -> bool:
    """Whether the download holding `lock` is gone: a process of this host that no longer
    exists, or (TF Hub's rule) no change to the lock or its temporary folder for 10 minutes."""
    parts = holder.rsplit(".", 2)
    if len(parts) == 3 and parts[0] == socket.gethostname() and parts[1].isdigit():
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    now = time.time() if now is None else now
    newest = _mtime(lock)
    if len(parts) == 3:
        temporary = lock[:-len(".lock")] + f".{parts[2]}.tmp"
        for root, _, files in os.walk(temporary):
            newest = max([newest, _mtime(root)] + [_mtime(os.path.join(root, f)) for f in files])
    return now - newest > LOCK_TIMEOUT_SECONDS


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


class Found:
    """What the cache holds for a handle: a usable module folder, or why not."""

    def __init__(self, folder: Optional[str], handle: Optional[str], problem: Optional[str], looked: List[str]):
        self.folder, self.handle, self.problem, self.looked = folder, handle, problem, looked


def find(handle: str, version: str) -> Found:
    """Looks for the module in TF Hub's cache under each equivalent handle's folder. A folder
    that exists but lacks module files is a problem (an error for the caller), reported for the
    first handle that has one, unless another handle's folder is complete."""
    cache, _ = cache_dir()
    looked: List[str] = []
    problem: Optional[str] = None
    for candidate in equivalent_handles(handle, version):
        folder = os.path.join(cache, folder_name(candidate))
        looked.append(f"TF Hub's cache {folder} ({candidate})")
        if not os.path.isdir(folder) or not os.listdir(folder):
            continue  # TF Hub too treats an empty folder as not downloaded (and replaces it)
        missing = missing_files(folder)
        if not missing:
            return Found(folder, candidate, None, looked)
        if problem is None:
            lock = folder + ".lock"
            interrupted = (f"; a TF Hub download left its lock {lock}" if os.path.exists(lock) else "")
            problem = (f"TF Hub's cached module {folder} (for {candidate}) is incomplete: it lacks "
                       f"{', '.join(missing)}{interrupted}. Delete that folder to download the module again")
    return Found(None, None, problem, looked)


# ---- download into TF Hub's layout --------------------------------------------------------------

def install(handle: str, version: str, progress: Optional[bool] = None, quiet: bool = False) -> Tuple[str, bool]:
    """Downloads the compressed module and unpacks it into TF Hub's cache as TF Hub would
    (lock, temporary folder, descriptor, rename); returns the module folder. The tarball
    downloads to ``<cache>/<sha1>.tar.gz`` (resumable ``.part``, size and ETag checks) and is
    removed once unpacked. Returns (the module folder, whether this call downloaded it)."""
    cache, _ = cache_dir()
    os.makedirs(cache, exist_ok=True)
    name = folder_name(handle)
    folder = os.path.join(cache, name)
    lock = folder + ".lock"
    task = uuid.uuid4().hex
    if not _take_lock(lock, f"{socket.gethostname()}.{os.getpid()}.{task}", folder, handle, quiet):
        return folder, False  # another process downloaded it while we waited
    temporary = f"{folder}.{task}.tmp"
    try:
        if os.path.isdir(folder) and not missing_files(folder):
            return folder, False  # another process finished it while we were deciding
        url = download_url(handle, version)
        tarball = folder + ".tar.gz"
        # A gzip stream ends with its length and CRC: a cut is caught when unpacking even from
        # a server that streams without stating the size.
        download.download_file(url, tarball, progress=False if quiet else progress,
                               label=f"google/elmo/{version} (TF Hub module)", size_unknown_ok=True)
        _unpack(tarball, temporary, url)
        missing = missing_files(temporary)
        if missing:
            raise DownloadError(f"{url} is not a complete TF Hub module: it lacks {', '.join(missing)}")
        _write_descriptor(handle, folder)
        if os.path.isdir(folder):
            shutil.rmtree(folder)  # an empty or incomplete leftover TF Hub would also replace
        os.rename(temporary, folder)
        _remove_download(tarball)
        return folder, True
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        if lock_holder(lock) == f"{socket.gethostname()}.{os.getpid()}.{task}":
            os.unlink(lock)


def _take_lock(lock: str, content: str, folder: str, handle: str, quiet: bool) -> bool:
    """Creates `lock` (exclusively) and returns True; a stale lock is replaced. While a live
    download holds it, waits (as TF Hub does); returns False when that download put the
    module in place meanwhile."""
    announced = False
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = lock_holder(lock)
            if holder is None:
                continue  # released between our two looks
            if lock_is_stale(lock, holder):
                try:
                    os.unlink(lock)
                except FileNotFoundError:
                    pass
                continue
            if not announced and not quiet:
                print(f"elmo: waiting for another download of {handle} ({lock}, held by {holder})", file=sys.stderr)
            announced = True
            time.sleep(_WAIT_SECONDS)
            if os.path.isdir(folder) and not missing_files(folder):
                return False
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        return True


def _unpack(tarball: str, destination: str, url: str) -> None:
    """Unpacks a module tarball into `destination`, refusing members that are not plain files
    or folders or that would land outside it."""
    os.makedirs(destination)
    root = os.path.realpath(destination)
    try:
        with tarfile.open(tarball, "r:*") as archive:
            for member in archive:
                target = os.path.realpath(os.path.join(destination, member.name))
                if target != root and not target.startswith(root + os.sep):
                    raise DownloadError(f"{url}: the module archive has a member outside its folder: {member.name!r}")
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                elif member.isfile():
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    source = archive.extractfile(member)
                    assert source is not None
                    with source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
                else:
                    raise DownloadError(f"{url}: the module archive has a member that is not a file or folder: "
                                        f"{member.name!r}")
    except (tarfile.TarError, EOFError, OSError) as error:
        _remove_download(tarball)
        raise DownloadError(f"{url} does not appear to be a valid module archive ({error}); removed the "
                            "download, nothing was installed") from None


def _write_descriptor(handle: str, folder: str) -> None:
    """``<folder>.descriptor.txt`` as TF Hub writes it (handle, time, host and pid)."""
    text = (f"Module: {handle}\nDownload Time: {datetime.datetime.today()}\n"
            f"Downloader Hostname: {socket.gethostname()} (PID:{os.getpid()})")
    temporary = f"{folder}.descriptor.txt.{uuid.uuid4().hex}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, folder + ".descriptor.txt")


def _remove_download(tarball: str) -> None:
    """Deletes a downloaded module archive and its .sha256 sidecar (either may be gone)."""
    for leftover in (tarball, tarball + ".sha256"):
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            pass
