"""AllenNLP's download cache, read (never written): a file AllenNLP's ``cached_path`` already
fetched is used instead of downloading it again.

AllenNLP's layout (``allennlp/common/file_utils.py``):

- the cache is ``$ALLENNLP_CACHE_ROOT/cache``, else ``~/.allennlp/cache`` (AllenNLP before 0.7.2
  used ``.../datasets``, also looked at);
- a URL's file is named ``sha256(url)`` in hex, followed by ``.`` and ``sha256(etag)`` when the
  server sent an ETag; ``<file>.json`` beside it records ``url`` (``resource`` since 1.0) and
  ``etag`` (and, since 1.0, ``size``); AllenNLP writes the file under a temporary name and
  renames it, then writes the ``.json``;
- several ETags of one URL may be cached; AllenNLP uses the newest.

Before libelmo uses a cached file it checks what it checks on its own downloads: the ``.json``
must name the URL (and the ETag the file name carries); the size must match the recorded one;
an ETag that is a plain MD5 must match the file's MD5. A file that fails is skipped (and
reported in ``looked``); a file with nothing recorded to check (old metadata, multipart ETag)
is used, and ``why`` says it could not be verified.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from typing import List, Optional, Tuple

from . import download

ROOT_ENV = "ALLENNLP_CACHE_ROOT"


def cache_dirs() -> List[str]:
    """AllenNLP's cache directory, then the pre-0.7.2 one."""
    root = os.environ.get(ROOT_ENV) or os.path.join(os.path.expanduser("~"), ".allennlp")
    root = os.path.expanduser(root)
    return [os.path.join(root, "cache"), os.path.join(root, "datasets")]


def file_name(url: str, etag: Optional[str] = None) -> str:
    """AllenNLP's cache file name for `url` (and the ETag it was fetched with)."""
    name = hashlib.sha256(url.encode("utf-8")).hexdigest()
    if etag:
        name += "." + hashlib.sha256(etag.encode("utf-8")).hexdigest()
    return name


class Hit:
    """A verified cached file: its path, and how it was verified (for ``why``)."""

    def __init__(self, path: str, verified: str):
        self.path, self.verified = path, verified


def find(url: str, looked: List[str]) -> Optional[Hit]:
    """The newest cached copy of `url` that passes the checks, None if there is none. Appends
    what it looked at (and why a candidate was skipped) to `looked`."""
    stem = file_name(url)
    for directory in cache_dirs():
        looked.append(f"AllenNLP's cache {os.path.join(directory, stem)}* ({url})")
        candidates = [p for p in glob.glob(os.path.join(glob.escape(directory), stem) + "*")
                      if re.fullmatch(re.escape(stem) + r"(\.[0-9a-f]{64})?", os.path.basename(p))
                      and os.path.isfile(p)]
        candidates.sort(key=os.path.getmtime, reverse=True)
        for path in candidates:
            verdict, detail = check(path, url)
            if verdict:
                return Hit(path, detail)
            looked.append(f"  skipped {path}: {detail}")
    return None


def check(path: str, url: str) -> Tuple[bool, str]:
    """(usable, how it was verified or why not) for a cached file of `url`."""
    try:
        with open(path + ".json", "r", encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        return False, "no .json metadata beside it (AllenNLP writes it last: the download did not finish)"
    except (OSError, ValueError) as error:
        return False, f"unreadable .json metadata ({error})"
    if not isinstance(meta, dict):
        return False, "its .json metadata is not an object"
    recorded_url = meta.get("resource", meta.get("url"))
    if recorded_url != url:
        return False, f"its .json metadata names {recorded_url!r}, not this URL"
    etag = meta.get("etag")
    if os.path.basename(path) != file_name(url, etag):
        return False, "its name does not match the ETag its .json metadata records"
    size = os.path.getsize(path)
    checks = []
    recorded_size = meta.get("size")
    if isinstance(recorded_size, int) and recorded_size > 0:
        if recorded_size != size:
            return False, f"{size} bytes, its .json metadata records {recorded_size}"
        checks.append("size")
    md5 = download._plain_md5_etag(etag) if isinstance(etag, str) else None
    if md5 is not None:
        actual = download.file_md5(path)
        if actual != md5:
            return False, f"its MD5 {actual} does not match the ETag {md5} it was downloaded with (corrupt)"
        checks.append("MD5 = ETag")
    if not checks:
        return True, "not verifiable (nothing recorded to check it against)"
    return True, "verified: " + " and ".join(checks)
