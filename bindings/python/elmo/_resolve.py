"""The one resolver: what a model argument names (a local path, a model name, a TF Hub
handle, an AllenNLP URL, an ELMoForManyLangs ``manylangs:<code>`` name) and where its files
come from. ``elmo.Model``, ``Elmo2Vec``, ``elmo.hub``, ``elmo.allennlp`` and the ``elmo``
command (through ``python -m elmo.resolve``) all go through :func:`resolve`; the public face
is :mod:`elmo.resolve`."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import List, Optional
from urllib.parse import urlsplit

from . import _allennlp_cache, _manylangs_cache, _tfhub_cache, download, manylangs_catalog
from .download import MODELS
from .errors import DownloadError, InvalidArgumentError, InvalidModelError

#: Where a resolved model came from (the ``source`` field).
SOURCES = ("path", "cache", "tfhub-cache", "allennlp-cache", "download")


@dataclass
class Resolved:
    """A model argument, resolved.

    ``path``: what ``elmo_model_load`` accepts (a directory, a weights file, a native file, a
    TF Hub module directory or tarball). ``options``: the options JSON to pass with it, or
    None when the library finds it itself. ``source``: one of :data:`SOURCES`. ``why``: one
    sentence saying where it came from and why. ``looked``: the places looked at, in order
    (what :func:`explain` prints)."""

    path: str
    options: Optional[str]
    source: str
    why: str
    looked: List[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The command line's JSON object: path, options, source, why."""
        data = asdict(self)
        del data["looked"]
        return data


class Plan:
    """One resolution: how it may proceed, what it found and did; ends as a :class:`Resolved`."""

    def __init__(self, spec: str, download_missing: bool = True, progress: Optional[bool] = None,
                 quiet: bool = False, dry_run: bool = False):
        self.spec = spec
        self.download_missing, self.quiet, self.dry_run = download_missing, quiet, dry_run
        #: The progress display's switch (None: decided by where stderr goes).
        self.progress = False if quiet else progress
        self.looked: List[str] = []
        #: Said before the reason of the final step (why an earlier place did not serve).
        self.note = ""

    def look(self, what: str) -> None:
        self.looked.append(what)

    def done(self, path: str, options: Optional[str], source: str, why: str) -> Resolved:
        return Resolved(path, options, source, why, list(self.looked))

    def download(self, path: str, options: Optional[str], why: str, refusal: str, fetch) -> Resolved:
        """Nothing on disk has it: a dry run predicts (`why`, future tense), downloads off
        refuse (`refusal`), otherwise `fetch()` runs; it may return a Resolved of its own (the
        file turned up meanwhile)."""
        if self.dry_run:
            return self.done(path, options, "download", why.replace("downloaded", "would be downloaded", 1))
        if not self.download_missing:
            raise DownloadError(refusal)
        other = fetch()
        return other if isinstance(other, Resolved) else self.done(path, options, "download", why)


# ---- what the argument names -----------------------------------------------------------------

# TF Hub's google/elmo versions 2 and 3 are the original model (2x4096_512_2048cnn_2xhighway,
# 1B Word Benchmark) that AllenNLP publishes as `original`.
_TFHUB_ELMO_VERSIONS = {"2": "original", "3": "original"}

_TFHUB_ADDRESSES = (
    # https://tfhub.dev/google/elmo/3, with or without ?tf-hub-format=compressed
    re.compile(r"(?:https?://)?(?:www\.)?tfhub\.dev/google/elmo/(\d+)/?", re.IGNORECASE),
    # https://www.kaggle.com/models/google/elmo/frameworks/TensorFlow1/variations/elmo/versions/3
    # and the short form https://www.kaggle.com/models/google/elmo/TensorFlow1/elmo/3
    re.compile(r"(?:https?://)?(?:www\.)?kaggle\.com/models/google/elmo/(?:frameworks/)?tensorflow1/"
               r"(?:variations/)?elmo/(?:versions/)?(\d+)/?", re.IGNORECASE),
    # the compressed module itself, as TF Hub served it from Google Cloud Storage
    re.compile(r"(?:https?://)?storage\.googleapis\.com/tfhub-modules/google/elmo/(\d+)\.tar\.gz", re.IGNORECASE),
)

#: Hosts AllenNLP published the ELMo files under (its docs used both over the years).
_ALLENNLP_BASES = ("https://allennlp.s3.amazonaws.com/models/elmo/",
                   "https://s3-us-west-2.amazonaws.com/allennlp/models/elmo/")


def tfhub_version(address: str) -> Optional[str]:
    """The google/elmo version a TF Hub (or Kaggle) address names, None if it is not one."""
    without_query = address.split("?", 1)[0].split("#", 1)[0]
    for pattern in _TFHUB_ADDRESSES:
        match = pattern.fullmatch(without_query)
        if match:
            return match.group(1)
    return None


def tfhub_model_name(address: str) -> Optional[str]:
    """The model name a TF Hub address of google/elmo stands for, None if it is not one.
    Raises for a google/elmo version that is not known to be the original model."""
    version = tfhub_version(address)
    if version is None:
        return None
    if version not in _TFHUB_ELMO_VERSIONS:
        raise InvalidArgumentError(
            f"{address}: google/elmo version {version} is not known to libelmo; versions 2 and 3 are "
            "the original model (or pass a local path)")
    return _TFHUB_ELMO_VERSIONS[version]


def allennlp_file(url: str):
    """(model name, cached file name) for one of AllenNLP's published ELMo file URLs, else None."""
    for base in _ALLENNLP_BASES + (download.base_url(),):
        if not url.startswith(base):
            continue
        for name, (config, stem) in MODELS.items():
            for local, suffix in download.FILES:
                if url[len(base):] == f"{config}/{stem}{suffix}":
                    return name, local
    return None


def known_names() -> str:
    """The model names, as error messages and help list them."""
    return (f"{', '.join(MODELS)}, or manylangs:<code> for an ELMoForManyLangs model, <code> one of "
            f"{', '.join(m.code for m in manylangs_catalog.MODELS)}")


def model_name(path: str) -> Optional[str]:
    """The model name `path` stands for (a name, a TF Hub address or an AllenNLP file URL),
    None for anything else."""
    if path in MODELS:
        return path
    found = allennlp_file(path)
    if found is not None:
        return found[0]
    return tfhub_model_name(path)


#: What a URL of a model file that is none of the named models' may end with: weights (HDF5),
#: a native libelmo file, a TF Hub module tarball (anything else is refused, not fetched).
_MODEL_FILE_SUFFIXES = (".hdf5", ".h5", ".elmo", ".safetensors", ".tar.gz", ".tgz")


def _fetchable_url(spec: str, suffixes) -> bool:
    """An http(s) URL whose path names a file of one of `suffixes`."""
    if not re.match(r"https?://", spec, re.IGNORECASE):
        return False
    return urlsplit(spec).path.lower().endswith(suffixes)


def _is_url(spec: str) -> bool:
    return re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", spec) is not None


# ---- resolution ------------------------------------------------------------------------------

def resolve(spec: str, options: Optional[str] = None, *, download_missing: bool = True,
            directory: Optional[str] = None, progress: Optional[bool] = None, quiet: bool = False,
            dry_run: bool = False) -> Resolved:
    """Resolves a model argument (see :func:`elmo.resolve.resolve`). `directory`: put a named
    model's files there (``elmo download NAME --dir D``). `dry_run`: decide and explain,
    touching neither the network nor any file."""
    if not isinstance(spec, str) or not spec:
        raise InvalidArgumentError(f"a model must be a non-empty path, name or URL, not {spec!r}")
    plan = Plan(spec, download_missing, progress, quiet, dry_run)
    if directory is not None:
        return _into_directory(plan, directory)
    options_path = _resolve_options(options, spec, plan)
    plan.look(f"local path {spec}")
    if os.path.exists(spec):
        return plan.done(spec, options_path, "path", f"{spec} is a local path: used as it is, never the network")
    if manylangs_catalog.is_manylangs_name(spec):
        return _manylangs(plan, options_path, None)
    version = tfhub_version(spec)
    if version is not None:
        return _tfhub(plan, version, options_path)
    name = model_name(spec)
    if name is not None:
        return _named(plan, name, options_path)
    if _fetchable_url(spec, _MODEL_FILE_SUFFIXES):
        return _url(plan, spec, options_path)
    if _is_url(spec):
        raise InvalidArgumentError(
            f"{spec}: not a model libelmo knows how to fetch. Give a local path, a model name "
            f"({known_names()}), a TF Hub handle of google/elmo or an http(s) URL of a model file "
            f"({', '.join(_MODEL_FILE_SUFFIXES)})")
    raise InvalidArgumentError(
        f"{spec}: model not found: no such file or directory, and not one of the model names "
        f"{known_names()} (nor a TF Hub handle or an AllenNLP URL)")


def _resolve_options(options: Optional[str], spec: str, plan: Plan) -> Optional[str]:
    """An options argument given with the model: a local path is kept; an http(s) URL becomes
    a file on disk the way a weights URL does (caches first, else downloaded). The published
    options URL of the very model `spec` names (AllenNLP's ``ElmoEmbedder(options_url,
    weights_url)``) is left to the model's own resolution, which fetches both files together."""
    if options is None or os.path.exists(options) or not _is_url(options):
        return options
    if not _fetchable_url(options, (".json",)):
        raise InvalidArgumentError(f"options {options}: not a local file nor an http(s) URL of an options .json")
    found = allennlp_file(options)
    if found is not None:
        name, local = found
        if not os.path.exists(spec) and model_name(spec) == name:
            return None
        mine = os.path.join(download.model_directory(name), local)
        if download.cached_state(mine) == "ok":
            return mine
    return _url(Plan(options, plan.download_missing, plan.progress, plan.quiet, plan.dry_run), options, None).path


def _tfhub(plan: Plan, version: str, options: Optional[str]) -> Resolved:
    """A TF Hub handle of google/elmo: TF Hub's cache first (offline); else, with
    $TFHUB_CACHE_DIR set, a download into it in TF Hub's layout; else libelmo's cache (the
    AllenNLP files of the same model)."""
    handle = plan.spec
    found = _tfhub_cache.find(handle, version)
    plan.looked.extend(found.looked)
    if found.folder is not None:
        same = "" if found.handle == handle else f" (cached for {found.handle}, the same module)"
        return plan.done(found.folder, options, "tfhub-cache",
                         f"{handle} is in TF Hub's cache as {found.folder}{same}: loaded from there, no download")
    if found.problem is not None:
        raise InvalidModelError(found.problem)
    cache, explicit = _tfhub_cache.cache_dir()
    if explicit and _tfhub_cache.load_format() != "UNCOMPRESSED":
        folder = os.path.join(cache, _tfhub_cache.folder_name(handle))
        why = (f"{handle} is not in TF Hub's cache ${_tfhub_cache.CACHE_DIR_ENV}={cache}: downloaded from "
               f"{_tfhub_cache.download_url(handle, version)} and unpacked into {folder}, where TF Hub finds it too")

        def fetch():
            if not _tfhub_cache.install(handle, version, progress=plan.progress, quiet=plan.quiet)[1]:
                return plan.done(folder, options, "tfhub-cache", f"{handle} was put in TF Hub's cache as {folder} "
                                 "by another download while this one waited: loaded from there")
            return None
        return plan.download(folder, options, why, f"{handle}: not downloaded yet (looked in "
                             f"{', '.join(plan.looked[1:])})", fetch)
    name = tfhub_model_name(handle)
    assert name is not None
    if not explicit:
        reason = f"${_tfhub_cache.CACHE_DIR_ENV} is not set"
    else:
        reason = f"${_tfhub_cache.LOAD_FORMAT_ENV}=UNCOMPRESSED (TF Hub caches nothing then)"
    plan.note = f"{handle} is not in TF Hub's cache and {reason}, so libelmo's own cache is used; "
    return _named(plan, name, options)


def _named(plan: Plan, name: str, options: Optional[str]) -> Resolved:
    """A published model by name (or by a TF Hub / AllenNLP address standing for it):
    libelmo's cache, then AllenNLP's, else a download into libelmo's cache."""
    spec = plan.spec
    directory = download.model_directory(name)
    alias = plan.note + ("" if spec == name else f"{spec} is the '{name}' model; ")
    plan.look(f"libelmo's cache {directory}")
    if download.all_cached(name, directory):
        return plan.done(directory, options, "cache", f"{alias}found in libelmo's cache {directory} "
                         "(verified against its .sha256 sidecars)")
    hits = _allennlp_hits(plan, name)
    if hits is not None:
        weights, options_hit = hits
        return plan.done(weights.path, options or options_hit.path, "allennlp-cache",
                         f"{alias}found in AllenNLP's cache as {weights.path} ({weights.verified}) and "
                         f"{options_hit.path} ({options_hit.verified}): no download")
    why = (f"{alias}not in libelmo's cache {directory} nor in AllenNLP's: downloaded from "
           f"{download.model_urls(name)['weights.hdf5']} (and its options file) into it")
    return plan.download(directory, options, why, f"{spec}: not downloaded yet (looked in "
                         f"{', '.join(plan.looked[1:])}); run: elmo download {name}",
                         lambda: _install(plan, name, directory, options, "libelmo's cache"))


def _install(plan: Plan, name: str, directory: str, options: Optional[str], where: str) -> Optional[Resolved]:
    """Fetches model NAME's files into `directory`; a Resolved (source ``cache``) when another
    process turned out to have fetched them while this one waited."""
    if download.install_model(name, directory, progress=plan.progress, quiet=plan.quiet):
        return None
    return plan.done(directory, options, "cache", f"'{name}' was put in {where} {directory} by another download "
                     "while this one waited (verified against its .sha256 sidecars)")


def _allennlp_hits(plan: Plan, name: str):
    """(weights, options) hits in AllenNLP's cache for model NAME (under the URL asked for
    first, then under each address AllenNLP published it at), None unless both are there."""
    config, stem = MODELS[name]
    hits = []
    for _, suffix in download.FILES:
        urls = [base + f"{config}/{stem}{suffix}" for base in _ALLENNLP_BASES]
        if plan.spec in urls:
            urls.remove(plan.spec)
            urls.insert(0, plan.spec)
        hit = None
        for url in urls:
            hit = _allennlp_cache.find(url, plan.looked)
            if hit is not None:
                break
        if hit is None:
            return None
        hits.append(hit)
    options_hit, weights_hit = hits  # download.FILES lists options first
    return weights_hit, options_hit


def _url(plan: Plan, url: str, options: Optional[str]) -> Resolved:
    """A file by http(s) URL that is none of the named models' (e.g. a contributed ELMo's
    weights): AllenNLP's cache, else libelmo's (``<cache>/urls/...``), else downloaded there."""
    hit = _allennlp_cache.find(url, plan.looked)
    if hit is not None:
        return plan.done(hit.path, options, "allennlp-cache",
                         f"{url} is in AllenNLP's cache as {hit.path} ({hit.verified}): no download")
    destination = download.url_file(url)
    plan.look(f"libelmo's cache {destination}")
    if download.cached_state(destination) == "ok":
        return plan.done(destination, options, "cache", f"{url} is in libelmo's cache as {destination} "
                         "(verified against its .sha256 sidecar)")
    why = f"{url} is in no cache: downloaded into libelmo's cache as {destination}"
    return plan.download(destination, options, why, f"{url}: not downloaded yet (looked in {', '.join(plan.looked)})",
                         lambda: download.download_file(url, destination, progress=plan.progress))


def _manylangs(plan: Plan, options: Optional[str], directory: Optional[str]) -> Resolved:
    """``manylangs:<code>``: the unpacked model in libelmo's cache (``<cache>/manylangs-<code>/model``)
    or in `directory` (``--dir``), verified against its manifest; else downloaded and unpacked there."""
    entry = manylangs_catalog.lookup(plan.spec)
    owned = directory is None
    folder = _manylangs_cache.model_folder(entry) if owned else os.path.abspath(directory)
    where = "libelmo's cache" if owned else "directory"
    plan.look(f"{where} {folder}")
    kind, detail = _manylangs_cache.state(folder)
    title = f"{plan.spec} is the ELMoForManyLangs {entry.language} model"
    if kind == "ok":
        return plan.done(folder, options, "cache", f"{title}: found in {where} {folder} (verified against its "
                         f"{_manylangs_cache.MANIFEST})")
    if kind == "foreign" and not owned:
        raise InvalidArgumentError(f"{detail}: not replacing it; choose another --dir or remove it")
    reason = f"not in {where} {folder}" if kind in ("missing", "empty") else detail
    why = f"{title}; {reason}: downloaded from {entry.url()} and unpacked into {folder}"
    command = f"elmo download {entry.name}" + ("" if owned else f" --dir {directory}")
    refusal = (f"{plan.spec}: " + (f"not downloaded yet ({reason})" if kind in ("missing", "empty") else reason)
               + f"; run: {command}")

    def fetch():
        if _manylangs_cache.install(entry, folder, replace_foreign=owned, progress=plan.progress, quiet=plan.quiet):
            return None
        return plan.done(folder, options, "cache", f"{title}: put in {where} {folder} by another download while "
                         f"this one waited (verified against its {_manylangs_cache.MANIFEST})")
    return plan.download(folder, options, why, refusal, fetch)


def _into_directory(plan: Plan, directory: str) -> Resolved:
    """``--dir D``: a named model's files put into D (verified when already there); a
    ``manylangs:`` model is unpacked into D itself."""
    if manylangs_catalog.is_manylangs_name(plan.spec):
        return _manylangs(plan, None, directory)
    name = model_name(plan.spec)
    if name is None:
        raise InvalidArgumentError(f"{plan.spec}: --dir needs a model name ({known_names()}) or an address "
                                   "standing for one")
    plan.look(f"directory {directory}")
    if download.all_cached(name, directory):
        return plan.done(directory, None, "cache", f"'{name}' is already in {directory} (verified against its "
                         ".sha256 sidecars)")
    why = (f"'{name}' downloaded from {download.model_urls(name)['weights.hdf5']} (and its options file) "
           f"into {directory}")
    return plan.download(directory, None, why, f"{plan.spec}: not in {directory} yet; run: elmo download {name} "
                         f"--dir {directory}", lambda: _install(plan, name, directory, None, directory))


def explain(spec: str, options: Optional[str] = None, directory: Optional[str] = None) -> Resolved:
    """Where `spec` would come from and why, without downloading or writing anything."""
    return resolve(spec, options, directory=directory, dry_run=True)


# ---- what elmo.Model calls -------------------------------------------------------------------

def resolve_model(path: str, progress: Optional[bool] = None, options: Optional[str] = None):
    """(path, options) for ``elmo_model_load``: `path` resolved as :func:`resolve` does. A
    path that is neither there nor a name or URL is passed on unchanged, so the library
    reports it with its own status (ELMO_ERR_IO, "model not found")."""
    if (not os.path.exists(path) and not _is_url(path) and model_name(path) is None
            and not manylangs_catalog.is_manylangs_name(path)):
        return path, options
    resolved = resolve(path, options, progress=progress)
    return resolved.path, resolved.options
