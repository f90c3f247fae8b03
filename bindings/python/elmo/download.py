"""Official ELMo models by name, downloaded once into a cache directory.

Follows the project's download spec (shared with the CLI's ``elmo download``, so either
finds the other's downloads):

- names ``small``, ``medium``, ``original``, ``original5.5B``: AllenNLP's published files
  ``<base><config dir>/<stem>_options.json`` and ``..._weights.hdf5``; the base URL is
  ``https://allennlp.s3.amazonaws.com/models/elmo/`` unless ``$ELMO_DOWNLOAD_BASE_URL`` says
  otherwise;
- cache: ``$ELMO_CACHE_DIR``, else ``$XDG_CACHE_HOME/elmo``, else ``~/.cache/elmo``; model
  NAME lives in ``<cache>/<NAME>/`` as ``options.json`` and ``weights.hdf5`` plus
  ``<file>.sha256`` sidecars (hex SHA-256, written at placement, verified before reuse);
- a download streams to ``<file>.part`` (resumed with a Range request when one exists),
  its size must equal the server's total, its SHA-256 (computed while downloading) must
  match a pinned checksum when one is known and its MD5 the server's ETag when that is a
  plain MD5; only then is it fsynced and renamed into place. No file ever has its final
  name half written.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, List, Optional, Tuple

from ._progress import progress_bar
from .errors import DownloadError, InvalidArgumentError

DEFAULT_BASE_URL = "https://allennlp.s3.amazonaws.com/models/elmo/"
BASE_URL_ENV = "ELMO_DOWNLOAD_BASE_URL"
CACHE_DIR_ENV = "ELMO_CACHE_DIR"

#: name -> (config directory, file stem), as published by AllenNLP.
MODELS: Dict[str, Tuple[str, str]] = {
    "small": ("2x1024_128_2048cnn_1xhighway", "elmo_2x1024_128_2048cnn_1xhighway"),
    "medium": ("2x2048_256_2048cnn_1xhighway", "elmo_2x2048_256_2048cnn_1xhighway"),
    "original": ("2x4096_512_2048cnn_2xhighway", "elmo_2x4096_512_2048cnn_2xhighway"),
    "original5.5B": ("2x4096_512_2048cnn_2xhighway_5.5B", "elmo_2x4096_512_2048cnn_2xhighway_5.5B"),
}

#: The cached file names and the suffix of the published file each comes from.
FILES: Tuple[Tuple[str, str], ...] = (("options.json", "_options.json"), ("weights.hdf5", "_weights.hdf5"))

#: Pinned SHA-256 of published files, (name, cached file name) -> hex digest. None are known
#: offline for the released files; a pinned entry is enforced on download.
PINNED_SHA256: Dict[Tuple[str, str], str] = {}

_CHUNK = 1 << 20
_TIMEOUT = 60.0
_USER_AGENT = "libelmo-python"


# ---- names, URLs, cache ----------------------------------------------------------------------

def base_url() -> str:
    """The download base URL ($ELMO_DOWNLOAD_BASE_URL or AllenNLP's), ending in '/'."""
    base = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return base if base.endswith("/") else base + "/"


def cache_dir() -> str:
    """$ELMO_CACHE_DIR, else $XDG_CACHE_HOME/elmo, else ~/.cache/elmo."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return os.path.expanduser(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return os.path.join(os.path.expanduser(xdg), "elmo")
    return os.path.join(os.path.expanduser("~"), ".cache", "elmo")


def model_directory(name: str) -> str:
    """Where model NAME is cached: <cache>/<NAME> (a model path the library loads)."""
    _check_name(name)
    return os.path.join(cache_dir(), name)


def model_urls(name: str) -> Dict[str, str]:
    """Cached file name -> download URL, for model NAME."""
    _check_name(name)
    config, stem = MODELS[name]
    return {local: f"{base_url()}{config}/{stem}{suffix}" for local, suffix in FILES}


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise InvalidArgumentError(f"unknown model name {name!r}: use one of {', '.join(MODELS)}")


# ---- checksum sidecars -----------------------------------------------------------------------

def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_md5(path: str) -> str:
    _, md5 = _new_hashes()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            md5.update(chunk)
    return md5.hexdigest()


def url_file(url: str) -> str:
    """Where a file fetched by URL (not one of the named models) is kept:
    ``<cache>/urls/<first 16 hex of the URL's SHA-256>/<the URL's file name>``."""
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    base = os.path.basename(urllib.parse.urlsplit(url).path) or "file"
    return os.path.join(cache_dir(), "urls", key, base)


def read_sidecar(path: str) -> Optional[str]:
    """The hex SHA-256 recorded for `path` (its .sha256 sidecar), or None."""
    try:
        with open(path + ".sha256", "r", encoding="ascii", errors="replace") as f:
            fields = f.read().split()
    except FileNotFoundError:
        return None
    if fields and re.fullmatch(r"[0-9a-fA-F]{64}", fields[0]):
        return fields[0].lower()
    return None


def _write_sidecar(path: str, digest: str) -> None:
    temporary = path + ".sha256.part"
    with open(temporary, "w", encoding="ascii") as f:
        f.write(digest + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path + ".sha256")


def cached_state(path: str) -> str:
    """'ok' (present and matching its sidecar), 'missing', or 'corrupt' (no valid sidecar,
    or the contents no longer match it)."""
    if not os.path.isfile(path):
        return "missing"
    recorded = read_sidecar(path)
    if recorded is None or file_sha256(path) != recorded:
        return "corrupt"
    return "ok"


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- fetching a model ------------------------------------------------------------------------

def fetch_model(name: str, progress: Optional[bool] = None) -> str:
    """The cache directory of model NAME, downloading (or repairing) its files first when
    needed. `progress`: draw a progress bar on stderr (default: when stderr is a terminal)."""
    directory = model_directory(name)
    install_model(name, directory, progress=progress)
    return directory


def install_model(name: str, directory: str, progress: Optional[bool] = None, quiet: bool = False) -> bool:
    """Puts model NAME's files into `directory` (the cache's or any other, as ``elmo download
    NAME --dir D`` does), verified; returns whether anything had to be fetched. `quiet`: no
    notes on stderr (errors still raise)."""
    fetched = False
    for local, url in model_urls(name).items():
        destination = os.path.join(directory, local)
        state = cached_state(destination)
        if state == "ok":
            continue
        if state == "corrupt" and not quiet:
            print(f"elmo: cached {destination} does not match its recorded SHA-256 (corrupt or incomplete); "
                  "downloading it again", file=sys.stderr)
        fetched = fetch_file(url, destination, expected_sha256=PINNED_SHA256.get((name, local)),
                             progress=False if quiet else progress, label=f"{name}/{local}")[1] or fetched
    return fetched


def all_cached(name: str, directory: str) -> bool:
    """Whether every file of model NAME is in `directory` and matches its sidecar."""
    return all(cached_state(os.path.join(directory, local)) == "ok" for local, _ in FILES)


def download_file(url: str, destination: str, *, expected_sha256: Optional[str] = None,
                  progress: Optional[bool] = None, label: Optional[str] = None, timeout: float = _TIMEOUT,
                  size_unknown_ok: bool = False) -> str:
    """Downloads `url` to `destination` as the spec says (resumable .part, size and checksum
    checks, sidecar, atomic rename); returns the file's hex SHA-256. A destination that is
    already in place and matches its sidecar (e.g. another process just finished it) is kept.
    `size_unknown_ok`: accept a server that does not state the size (only for formats that
    detect their own truncation, like a gzip tarball's length and CRC trailer)."""
    return fetch_file(url, destination, expected_sha256=expected_sha256, progress=progress, label=label,
                      timeout=timeout, size_unknown_ok=size_unknown_ok)[0]


def fetch_file(url: str, destination: str, *, expected_sha256: Optional[str] = None,
               progress: Optional[bool] = None, label: Optional[str] = None, timeout: float = _TIMEOUT,
               size_unknown_ok: bool = False) -> Tuple[str, bool]:
    """:func:`download_file`, returning (hex SHA-256, whether this call transferred it: False
    when another process put it in place while this one waited for its lock)."""
    directory = os.path.dirname(os.path.abspath(destination))
    os.makedirs(directory, exist_ok=True)
    part = destination + ".part"
    while True:
        f = open(part, "ab+")
        try:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                print(f"elmo: waiting for another download of {destination}", file=sys.stderr)
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            # The other process may have finished (renamed the .part away) while we waited.
            if cached_state(destination) == "ok":
                digest = read_sidecar(destination)
                if _same_file(f, part):
                    os.unlink(part)
                assert digest is not None
                return digest, False
            if not _same_file(f, part):
                continue
            return _download_locked(url, destination, part, f, expected_sha256, progress,
                                    label or os.path.basename(destination), timeout, size_unknown_ok), True
        finally:
            f.close()


def _same_file(f, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(f.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _offline_error(url: str, reason) -> DownloadError:
    host = urllib.parse.urlsplit(url).netloc or url
    return DownloadError(
        f"cannot download {url}: {reason}. This machine seems to be offline (or {host} is unreachable). "
        "A local path to the model files always works offline, e.g. "
        "elmo.Model('/path/to/dir holding options.json and the weights .hdf5').")


def _open(url: str, offset: int, timeout: float):
    """The HTTP response for `url` from byte `offset` on, or the HTTPError to interpret."""
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        return error
    except urllib.error.URLError as error:
        raise _offline_error(url, error.reason) from None
    except (socket.timeout, ConnectionError, http.client.HTTPException, OSError) as error:
        raise _offline_error(url, error) from None


_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


def _content_range(value: Optional[str]) -> Tuple[Optional[int], Optional[int]]:
    """(first byte, total size) of a Content-Range header; None where absent."""
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if not match:
        return None, None
    first = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(3)) if match.group(3) != "*" else None
    return first, total


def _plain_md5_etag(value: Optional[str]) -> Optional[str]:
    """The MD5 an ETag states, if it is a plain 32-hex MD5 (single-part S3 upload)."""
    if not value:
        return None
    tag = value.strip()
    if tag.startswith("W/"):
        return None
    tag = tag.strip('"')
    return tag.lower() if re.fullmatch(r"[0-9a-fA-F]{32}", tag) else None


def _new_hashes():
    try:
        md5 = hashlib.md5(usedforsecurity=False)
    except TypeError:  # Python < 3.9
        md5 = hashlib.md5()
    return hashlib.sha256(), md5


def _hash_prefix(f, size: int):
    """Hashers fed with the first `size` bytes already in the .part file (a resumed download)."""
    sha256, md5 = _new_hashes()
    f.seek(0)
    remaining = size
    while remaining:
        chunk = f.read(min(_CHUNK, remaining))
        if not chunk:
            break
        sha256.update(chunk)
        md5.update(chunk)
        remaining -= len(chunk)
    f.seek(0, os.SEEK_END)
    return sha256, md5


def _download_locked(url, destination, part, f, expected_sha256, progress, label, timeout,
                     size_unknown_ok=False) -> str:
    f.seek(0, os.SEEK_END)
    offset = f.tell()
    response = _open(url, offset, timeout)
    total: Optional[int] = None
    etag: Optional[str] = None
    promised: Optional[int] = None  # the body length of the response we read, when stated
    if isinstance(response, urllib.error.HTTPError):
        error = response
        response = None
        _, total = _content_range(error.headers.get("Content-Range"))
        error.close()
        if error.code == 416 and offset and total == offset:
            etag = error.headers.get("ETag")  # the .part already holds the whole file
        elif error.code == 416 and offset:
            f.truncate(0)  # the .part does not fit the file on the server: start over
            offset = 0
            response = _open(url, 0, timeout)
            if isinstance(response, urllib.error.HTTPError):
                response.close()
                raise DownloadError(f"cannot download {url}: HTTP {response.code} {response.reason}")
        else:
            raise DownloadError(f"cannot download {url}: HTTP {error.code} {error.reason}")
    if response is None:
        sha256, md5 = _hash_prefix(f, offset)
    else:
        with response:
            status = response.status
            if status == 206:
                first, total = _content_range(response.headers.get("Content-Range"))
                if first != offset:
                    raise DownloadError(f"cannot resume {url}: asked for bytes from {offset}, the server sent "
                                        f"{response.headers.get('Content-Range')!r}")
            elif status == 200:
                if offset:
                    f.truncate(0)  # the server ignored the Range request: start over
                    offset = 0
                total = _length(response)
            else:
                raise DownloadError(f"cannot download {url}: unexpected HTTP status {status}")
            if total is None and not size_unknown_ok:
                raise DownloadError(f"cannot download {url}: the server did not say how large the file is, "
                                    "so a complete download cannot be told from a cut one")
            if total is not None and offset > total:
                raise DownloadError(f"cannot resume {url}: the partial file is larger than the file on the server")
            etag = response.headers.get("ETag")
            promised = _length(response)
            sha256, md5 = _hash_prefix(f, offset)
            bar = progress_bar(label, total, start=offset, enabled=progress)
            try:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    sha256.update(chunk)
                    md5.update(chunk)
                    bar.update(len(chunk))
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, OSError) as error:
                f.flush()
                raise _interrupted(url, part, f.tell(), total, error) from None
            finally:
                bar.finish()
    f.flush()
    os.fsync(f.fileno())
    size = f.tell()
    if total is None:
        pass  # size_unknown_ok: the format checks its own length when it is read
    elif size < total and promised is not None and size - offset == promised:
        # The server sent all it promised and the file is still short: its total is wrong
        # (resuming would not help), as when the stated size is larger than the file.
        os.unlink(part)
        raise DownloadError(f"download of {url}: size mismatch: received {size} bytes, the server announced "
                            f"{total}; the partial file was removed and nothing was installed")
    elif size < total:
        raise _interrupted(url, part, size, total, "the connection closed early")
    elif size > total:
        os.unlink(part)
        raise DownloadError(f"download of {url}: size mismatch: {size} bytes, more than the {total} the server "
                            "announced; the partial file was removed and nothing was installed")
    sha256_hex, md5_hex = sha256.hexdigest(), md5.hexdigest()
    expected_md5 = _plain_md5_etag(etag)
    if expected_md5 is not None and md5_hex != expected_md5:
        os.unlink(part)
        raise DownloadError(f"download of {url} is corrupt (checksum mismatch): its MD5 {md5_hex} does not match "
                            f"the server's ETag {expected_md5}; the partial file was removed and nothing was installed")
    if expected_sha256 is not None and sha256_hex != expected_sha256.lower():
        os.unlink(part)
        raise DownloadError(f"download of {url} is corrupt (checksum mismatch): its SHA-256 {sha256_hex} is not "
                            f"the published {expected_sha256}; the partial file was removed and nothing was installed")
    _write_sidecar(destination, sha256_hex)
    os.replace(part, destination)
    _fsync_directory(os.path.dirname(os.path.abspath(destination)))
    return sha256_hex


def _interrupted(url, part, size, total, reason) -> DownloadError:
    error = DownloadError(f"download of {url} interrupted: stopped after {size} of the {total} bytes the server "
                          f"announced ({reason}); the partial file {part} is kept and the next attempt resumes it")
    error.resumable = True  # type: ignore[attr-defined]  # elmo.resolve's command line says how to resume
    return error


def _length(response) -> Optional[int]:
    length = response.headers.get("Content-Length")
    return int(length) if length and length.strip().isdigit() else None


def cached_models() -> List[str]:
    """Names whose files are all present in the cache (not verified)."""
    return [name for name in MODELS
            if all(os.path.isfile(os.path.join(cache_dir(), name, local)) for local, _ in FILES)]
