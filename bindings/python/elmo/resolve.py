"""Where a model comes from: one resolver for local paths, model names, TF Hub handles,
AllenNLP URLs and ELMoForManyLangs models (``manylangs:<code>``, e.g. ``manylangs:fr``), as a
Python API and as the command line the ``elmo`` command calls.

Python::

    import elmo.resolve
    r = elmo.resolve.resolve("https://tfhub.dev/google/elmo/3")   # downloads when needed
    r.path, r.options, r.source, r.why
    print(elmo.resolve.explain("original"))                        # never downloads

Command line (the contract the ``elmo`` command relies on)::

    python -m elmo.resolve [--download|--no-download] [--dir DIR] [--json] [--explain] [-q]
                           [--options OPTIONS] NAME_OR_PATH_OR_URL

- success: exit 0. With ``--json``, one JSON object on stdout: ``{"path": ..., "options": ...,
  "source": ..., "why": ...}`` (``path`` is what ``elmo_model_load`` accepts, ``options`` the
  options file to pass with it or null, ``source`` one of ``path``, ``cache``, ``tfhub-cache``,
  ``allennlp-cache``, ``download``); without it, the path alone on one line.
- ``--explain``: where the model would come from and why (nothing downloaded or written): the
  decision, then each place looked at, as text (``--json``: the object above plus ``looked``).
- ``--no-download``: a model that is not on disk is an error instead of a download.
- ``--dir DIR``: put a named model's files into DIR (``elmo download NAME --dir DIR``; a
  ``manylangs:<code>`` model is unpacked into DIR itself, which must not exist, be empty, or hold
  that model as libelmo unpacked it); ``source`` is ``download`` when anything was fetched,
  ``cache`` when all was already there.
- failure: exit 1, the message on stderr as its last line, ``elmo: error: <message>``;
  usage errors: exit 2. Notes and download progress go to stderr (``-q``: errors only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from ._resolve import SOURCES, Resolved
from ._resolve import explain as _explain
from ._resolve import known_names
from ._resolve import resolve as _resolve
from .errors import ElmoError

__all__ = ["Resolved", "SOURCES", "resolve", "explain", "main"]


def resolve(name_or_path: str, download: bool = True, *, options: Optional[str] = None,
            directory: Optional[str] = None, progress: Optional[bool] = None, quiet: bool = False) -> Resolved:
    """Resolves a model argument to files on disk: a local path is used as it is; a model name
    (``small``, ``medium``, ``original``, ``original5.5B``), a TF Hub handle of google/elmo or
    one of AllenNLP's ELMo URLs is looked up in libelmo's cache, TF Hub's cache and AllenNLP's
    cache, and downloaded when none has it (unless ``download=False``, then
    :class:`elmo.DownloadError`). ``manylangs:<code>`` (the 44 ELMoForManyLangs models, see
    :mod:`elmo.manylangs_catalog`) is unpacked into ``<cache>/manylangs-<code>/model``. ``options``: an options file (path or AllenNLP URL) to use
    with it. ``directory``: put a named model's files there instead of the cache.
    ``progress``: show download progress (default: on a terminal or in a notebook)."""
    return _resolve(_text(name_or_path), _text(options), download_missing=download, directory=_text(directory),
                    progress=progress, quiet=quiet)


def explain(name_or_path: str, *, options: Optional[str] = None, directory: Optional[str] = None) -> Resolved:
    """Where a model would come from and why, without downloading or writing anything
    (``source`` is ``download`` when nothing on disk has it)."""
    return _explain(_text(name_or_path), _text(options), _text(directory))


def _text(value):
    """A path-like argument as str (None stays None; anything else is left for the resolver
    to refuse)."""
    return os.fsdecode(value) if isinstance(value, (bytes, os.PathLike)) else value


def explanation_text(resolved: Resolved) -> str:
    """The human-readable explanation ``--explain`` prints."""
    lines = [f"{resolved.source}: {resolved.path}"]
    if resolved.options:
        lines.append(f"options: {resolved.options}")
    lines.append(f"why: {resolved.why}")
    lines.append("looked at, in order:")
    lines.extend(f"  {place}" for place in resolved.looked)
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m elmo.resolve",
        description="Resolve an ELMo model (path, name, TF Hub handle or AllenNLP URL) to files on disk, "
                    "downloading it when nothing on disk has it. Names: " + known_names() + ".")
    parser.add_argument("model", metavar="NAME_OR_PATH_OR_URL")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--download", dest="download", action="store_true", default=True,
                       help="download the model when it is not on disk (the default)")
    group.add_argument("--no-download", dest="download", action="store_false",
                       help="fail instead of downloading")
    parser.add_argument("--dir", metavar="DIR",
                        help="put a named model's files into DIR (a manylangs: model is unpacked into DIR itself)")
    parser.add_argument("--options", metavar="OPTIONS", help="options file (path or AllenNLP URL) to use")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--explain", action="store_true",
                        help="say where the model would come from and why; download nothing")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.explain:
            resolved = explain(args.model, options=args.options, directory=args.dir)
        else:
            resolved = resolve(args.model, args.download, options=args.options, directory=args.dir,
                               quiet=args.quiet, progress=False if args.quiet else None)
    except ElmoError as error:
        message = error.message if hasattr(error, "message") else str(error)
        if getattr(error, "resumable", False):
            message += " (run the command again to resume)"
        print(f"elmo: error: {message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"elmo: error: {error}", file=sys.stderr)
        return 1
    if args.json:
        data = resolved.to_json()
        if args.explain:
            data["looked"] = resolved.looked
        print(json.dumps(data))
    elif args.explain:
        print(explanation_text(resolved))
    else:
        print(resolved.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
