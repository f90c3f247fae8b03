"""``ElmoEmbedder``: AllenNLP 0.9's ``allennlp.commands.elmo.ElmoEmbedder`` on libelmo.

Same constructor, methods, arguments, defaults and return types; numpy only (no torch, no
h5py). Differences, on purpose:

- Deterministic by default: a sentence's vectors do not depend on its batch or on earlier
  calls. AllenNLP's biLM carries its LSTM states from batch to batch (so the same sentence
  gives different vectors on a second call); ``stateful=True`` reproduces that.
- ``cuda_device`` is accepted and ignored: libelmo computes on the CPU.
- ``embed_file`` runs the ``elmo`` command (``elmo embed``), libelmo's own writer of the
  ``allennlp elmo`` HDF5 layout; an empty line becomes an entry with 0 tokens where AllenNLP
  refuses the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from typing import IO, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np

from .._cli import binary_path
from ..errors import ElmoError, InvalidArgumentError
from .._owner import ModelOwner
from ..model import Model
from ._torch import optional_torch

DEFAULT_OPTIONS_FILE = ("https://s3-us-west-2.amazonaws.com/allennlp/models/elmo/2x4096_512_2048cnn_2xhighway/"
                        "elmo_2x4096_512_2048cnn_2xhighway_options.json")
DEFAULT_WEIGHT_FILE = ("https://s3-us-west-2.amazonaws.com/allennlp/models/elmo/2x4096_512_2048cnn_2xhighway/"
                       "elmo_2x4096_512_2048cnn_2xhighway_weights.hdf5")
DEFAULT_BATCH_SIZE = 64

#: Where embed_file finds the `elmo` command: $ELMO_CLI, else the binary a wheel bundles, else `elmo` on $PATH.
CLI_ENV = "ELMO_CLI"

_OUTPUT_FLAGS = {"all": "--all", "top": "--top", "average": "--average"}


class ElmoEmbedder(ModelOwner):
    """AllenNLP 0.9's ``ElmoEmbedder``: every layer of the biLM for tokenized sentences.

    ``options_file``/``weight_file``: paths, or what :class:`elmo.Model` accepts: AllenNLP's
    URLs (the defaults, its original model) and names are found in libelmo's or AllenNLP's
    cache, else downloaded once (see :mod:`elmo.resolve`). ``cuda_device`` is ignored (CPU).
    ``stateful=True`` carries the LSTM states from batch to batch as AllenNLP does (default
    False: deterministic). ``precision`` and ``threads`` as in :class:`elmo.Model`.
    """

    def __init__(self, options_file: str = DEFAULT_OPTIONS_FILE, weight_file: str = DEFAULT_WEIGHT_FILE,
                 cuda_device: int = -1, *, stateful: bool = False, precision: str = "fp32",
                 threads: Optional[int] = None) -> None:
        if cuda_device is not None and cuda_device >= 0:
            warnings.warn("libelmo computes on the CPU: cuda_device is ignored", stacklevel=2)
        self.cuda_device = cuda_device
        self.options_file = options_file
        self.weight_file = weight_file
        self.model = Model(weight_file, options=options_file, precision=precision, threads=threads)
        self.stateful = bool(stateful)
        self._session = self.model.session(stateful=True) if self.stateful else None

    def _embed(self, batch: List[List[str]]) -> List[np.ndarray]:
        if self._session is not None:
            return self._session.embed(batch, "all")
        return self.model.embed(batch, "all")

    # ---- AllenNLP's methods ---------------------------------------------------------------

    def batch_to_embeddings(self, batch: List[List[str]]) -> Tuple["np.ndarray", "np.ndarray"]:
        """(activations, mask): every layer, (batch, layers, longest, dim) float32, zero at padded
        positions, and the (batch, longest) int64 mask. torch tensors when PyTorch is installed
        (as AllenNLP returns), numpy arrays otherwise."""
        batch = [list(sentence) for sentence in batch]
        arrays = self._embed(batch)
        longest = max((len(s) for s in batch), default=0)
        activations = np.zeros((len(batch), self.model.output_layer_count, longest, self.model.output_dim),
                               dtype=np.float32)
        mask = np.zeros((len(batch), longest), dtype=np.int64)
        for i, array in enumerate(arrays):
            activations[i, :, :array.shape[1]] = array
            mask[i, :array.shape[1]] = 1
        torch = optional_torch()
        if torch is not None:
            return torch.from_numpy(activations), torch.from_numpy(mask)
        return activations, mask

    def embed_sentence(self, sentence: List[str]) -> np.ndarray:
        """One tokenized sentence: (layers, tokens, dim) float32 ((3, n, 1024) for the original model)."""
        return self.embed_batch([sentence])[0]

    def embed_batch(self, batch: List[List[str]]) -> List[np.ndarray]:
        """Tokenized sentences: one (layers, tokens, dim) array each; an empty sentence gives
        (layers, 0, dim)."""
        batch = [list(sentence) for sentence in batch]
        if self._session is not None and any(len(s) == 0 for s in batch):
            # AllenNLP answers [[]] without the biLM; a stateful call needs every row present.
            if all(len(s) == 0 for s in batch):
                return [np.zeros((self.model.output_layer_count, 0, self.model.output_dim), np.float32) for _ in batch]
            raise InvalidArgumentError("a stateful ElmoEmbedder cannot embed an empty sentence inside a batch "
                                       "(each row carries its LSTM state to the next batch)")
        return self._embed(batch)

    def embed_sentences(self, sentences: Iterable[List[str]],
                        batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[np.ndarray]:
        """A generator of every sentence's layers, embedding ``batch_size`` sentences at a
        time, at constant memory (the iterable may be endless)."""
        tokenized = (list(s) for s in sentences)
        if self._session is not None:
            return self._session.iter_embed(tokenized, "all", batch_size=batch_size)
        return self.model.iter_embed(tokenized, "all", batch_size=batch_size)

    def embed_file(self, input_file: Union[IO, str], output_file_path: str, output_format: str = "all",
                   batch_size: int = DEFAULT_BATCH_SIZE, forget_sentences: bool = False,
                   use_sentence_keys: bool = False) -> None:
        """Embeds a file of whitespace-tokenized sentences, one per line, into the HDF5 file
        ``output_file_path`` in ``allennlp elmo``'s layout: a dataset per line named by its
        0-based index (by the sentence with ``use_sentence_keys``), ``(layers, n, dim)`` for
        ``"all"``, ``(n, dim)`` for ``"top"`` and ``"average"``, plus ``sentence_to_index``
        unless ``forget_sentences`` or ``use_sentence_keys``.

        Written by libelmo's ``elmo embed`` command (``$ELMO_CLI``, else the one a wheel bundles, else ``elmo`` on
        ``$PATH``), the same writer as the command line: no h5py needed. The vectors are the
        deterministic ones (each sentence on its own) whatever ``stateful`` says."""
        if output_format not in _OUTPUT_FLAGS:
            raise InvalidArgumentError(f"output_format must be 'all', 'top' or 'average', not {output_format!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be a positive int, not {batch_size!r}")
        command = [_cli(), "embed", "-", os.fspath(output_file_path), _OUTPUT_FLAGS[output_format],
                   "--batch-size", str(batch_size), "--precision", self.model.precision, "--quiet"]
        if use_sentence_keys:
            command.append("--use-sentence-keys")
        if forget_sentences:
            command.append("--forget-sentences")
        if self.model.threads:
            command += ["--threads", str(self.model.threads)]
        with tempfile.TemporaryDirectory(prefix="elmo-embed-file-") as scratch:
            command += ["--model", self._model_directory(scratch)]
            lines = open(input_file, encoding="utf-8") if isinstance(input_file, (str, os.PathLike)) else input_file
            try:
                _run_cli(command, lines, os.path.join(scratch, "stderr"))
            finally:
                if lines is not input_file:
                    lines.close()

    def _model_directory(self, scratch: str) -> str:
        """What `elmo embed --model` reads: the model as loaded, with its options file beside
        the weights under the names the command looks for when they were given separately
        (by the caller, or by the resolver: AllenNLP's cache holds them under hashed names)."""
        path, options = self.model.path, self.model.options_path
        if os.path.isdir(path) or options is None:
            return path
        directory = os.path.join(scratch, "model")
        os.mkdir(directory)
        os.symlink(os.path.abspath(path), os.path.join(directory, "weights.hdf5"))
        os.symlink(os.path.abspath(options), os.path.join(directory, "options.json"))
        return directory

    # ---- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Releases the model (and the stateful session)."""
        if self._session is not None:
            self._session.close()
        super().close()


def _cli() -> str:
    explicit = os.environ.get(CLI_ENV)
    if explicit:
        return explicit
    # A wheel carries the command's binary inside the package: the one that matches this library.
    bundled = binary_path()
    if os.access(bundled, os.X_OK):
        return bundled
    found = shutil.which("elmo")
    if found is None:
        raise ElmoError(f"embed_file runs libelmo's `elmo` command (its writer of allennlp's HDF5 layout), which "
                        f"was not found: install it with `make install-cli PREFIX=...` and put PREFIX/bin on $PATH, "
                        f"or set ${CLI_ENV} to its path")
    return found


def _run_cli(command: List[str], lines, stderr_path: str) -> None:
    """Streams `lines` to the command's stdin (so the file is never held in memory) and raises
    ElmoError with its message if it fails."""
    with open(stderr_path, "w+b") as stderr:
        # The command resolves model names with this package's resolver, run by this interpreter.
        env = dict(os.environ, ELMO_PYTHON=os.environ.get("ELMO_PYTHON", sys.executable))
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        try:
            for line in lines:
                process.stdin.write(line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line)
                if not (line.endswith("\n") if isinstance(line, str) else line.endswith(b"\n")):
                    process.stdin.write(b"\n")
            process.stdin.close()
        except BrokenPipeError:
            pass  # the command stopped early: its status and message say why
        finally:
            status = process.wait()
        if status != 0:
            stderr.seek(0)
            message = stderr.read().decode("utf-8", "replace").strip()
            raise ElmoError(f"elmo embed failed (exit status {status}): {message}")
