"""The 44 pretrained ELMoForManyLangs (HIT-SCIR) models: names, download addresses, and the safe
unpacking of their zip archives.

A model is named ``manylangs:<code>`` (``manylangs:fr``, ``manylangs:zh``...), the code being the
ISO 639-1 code of the language where it has one, else ISO 639-3 (``cu`` Old Church Slavonic,
``grc`` Ancient Greek). The archives are hosted by the NLPL Vectors Repository
(``http://vectors.nlpl.eu/repository/11/<id>.zip``, ids 136 to 179, as listed in the
ELMoForManyLangs README); the base URL can be replaced (``$ELMO_MANYLANGS_BASE_URL``, the tests
use a local server). Neither the README nor the repository publishes the archives' sizes or
checksums, so ``size`` and ``sha256`` are None: a downloader checks the size the server announces
and records the archive's SHA-256 when it first stores it (as for the English models).

The resolver (``elmo/_resolve.py``) resolves a ``manylangs:`` name with :func:`lookup`, and
``elmo/_manylangs_cache.py`` downloads ``entry.url()`` to ``<cache>/manylangs-<code>/model.zip``
with :mod:`elmo.download`'s streaming/resume/verify code, unpacks it with :func:`extract_model`
and puts the model folder in place as ``<cache>/manylangs-<code>/model`` (libelmo reads the model
directory as it is: the nested network configuration that the archives do not ship is built in).
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
import zlib
from typing import Dict, List, NamedTuple, Optional

from .errors import InvalidArgumentError, InvalidModelError

PREFIX = "manylangs:"
DEFAULT_BASE_URL = "http://vectors.nlpl.eu/repository/11/"
BASE_URL_ENV = "ELMO_MANYLANGS_BASE_URL"


class ManyLangsModel(NamedTuple):
    code: str
    language: str
    #: The archive's id in the NLPL Vectors Repository (its file name is ``<id>.zip``).
    nlpl_id: int
    #: Archive size in bytes and SHA-256, when published (neither is, for these models).
    size: Optional[int] = None
    sha256: Optional[str] = None

    @property
    def name(self) -> str:
        return PREFIX + self.code

    def url(self, base: Optional[str] = None) -> str:
        """The archive's address: ``base`` (default ``$ELMO_MANYLANGS_BASE_URL``, else NLPL's)."""
        base = base or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        return base.rstrip("/") + f"/{self.nlpl_id}.zip"


#: The README's download table, in NLPL id order (Dutch 164 is listed after Norwegian Bokmål 165).
MODELS: List[ManyLangsModel] = [ManyLangsModel(code, language, nlpl_id) for code, language, nlpl_id in [
    ("ar", "Arabic", 136), ("bg", "Bulgarian", 137), ("ca", "Catalan", 138), ("cs", "Czech", 139),
    ("cu", "Old Church Slavonic", 140), ("da", "Danish", 141), ("de", "German", 142), ("el", "Greek", 143),
    ("en", "English", 144), ("es", "Spanish", 145), ("et", "Estonian", 146), ("eu", "Basque", 147),
    ("fa", "Persian", 148), ("fi", "Finnish", 149), ("fr", "French", 150), ("ga", "Irish", 151),
    ("gl", "Galician", 152), ("grc", "Ancient Greek", 153), ("he", "Hebrew", 154), ("hi", "Hindi", 155),
    ("hr", "Croatian", 156), ("hu", "Hungarian", 157), ("id", "Indonesian", 158), ("it", "Italian", 159),
    ("ja", "Japanese", 160), ("ko", "Korean", 161), ("la", "Latin", 162), ("lv", "Latvian", 163),
    ("nl", "Dutch", 164), ("nb", "Norwegian Bokmål", 165), ("nn", "Norwegian Nynorsk", 166), ("pl", "Polish", 167),
    ("pt", "Portuguese", 168), ("ro", "Romanian", 169), ("ru", "Russian", 170), ("sk", "Slovak", 171),
    ("sl", "Slovene", 172), ("sv", "Swedish", 173), ("tr", "Turkish", 174), ("ug", "Uyghur", 175),
    ("uk", "Ukrainian", 176), ("ur", "Urdu", 177), ("vi", "Vietnamese", 178), ("zh", "Chinese (traditional)", 179),
]]

BY_CODE: Dict[str, ManyLangsModel] = {m.code: m for m in MODELS}


def is_manylangs_name(name: str) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def lookup(name: str) -> ManyLangsModel:
    """The catalogue entry of ``manylangs:<code>`` (the code alone is accepted too)."""
    code = name[len(PREFIX):] if is_manylangs_name(name) else name
    entry = BY_CODE.get(code.lower())
    if entry is None:
        raise InvalidArgumentError(
            f"unknown ELMoForManyLangs model '{name}': the names are "
            + ", ".join(m.name for m in MODELS))
    return entry


#: Largest total size unpacked from one archive (the largest released model is about 0.7 GB).
MAX_UNPACKED_BYTES = 8 << 30
MAX_MEMBERS = 1000


def extract_model(archive: str, directory: str) -> str:
    """Unpacks a downloaded model archive into ``directory`` and returns the model directory in it
    (the one holding ``config.json`` and ``encoder.pkl``: the archive's top level or its single
    folder). Refuses members that would land outside ``directory`` (absolute paths, ``..``),
    links and special files, and archives that unpack to more than ``MAX_UNPACKED_BYTES``."""
    root = os.path.realpath(directory)
    os.makedirs(root, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS:
                raise InvalidModelError(f"{archive}: {len(members)} members, more than {MAX_MEMBERS}")
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise InvalidModelError(f"{archive}: unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            for m in members:
                kind = stat.S_IFMT(m.external_attr >> 16)
                target = os.path.realpath(os.path.join(root, m.filename))
                if os.path.isabs(m.filename) or not (target == root or target.startswith(root + os.sep)):
                    raise InvalidModelError(f"{archive}: member '{m.filename}' would be written outside {directory}")
                if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                    raise InvalidModelError(f"{archive}: member '{m.filename}' is a link or special file")
            for m in members:
                target = os.path.realpath(os.path.join(root, m.filename))
                if m.is_dir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with z.open(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except zipfile.BadZipFile as e:
        raise InvalidModelError(f"{archive}: not a zip archive, or a damaged one ({e})") from None
    except (zlib.error, EOFError, NotImplementedError) as e:
        # A damaged compressed member (or a compression method zipfile lacks) fails as it is read.
        raise InvalidModelError(f"{archive}: a member cannot be decompressed ({e})") from None
    for candidate in [root] + sorted(os.path.join(root, d) for d in os.listdir(root)):
        if all(os.path.isfile(os.path.join(candidate, f)) for f in ("config.json", "encoder.pkl")):
            return candidate
    raise InvalidModelError(f"{archive}: no ELMoForManyLangs model (config.json and encoder.pkl) in the archive")
