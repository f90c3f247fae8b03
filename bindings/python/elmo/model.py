"""``elmo.Model`` and ``elmo.Session``: a loaded model and one thread's use of it.

A :class:`Model` is immutable and shared by every thread. ``Model.embed`` gives each calling
thread its own stateless session, so any number of threads may call it at once (the library
releases the GIL while it computes). :meth:`Model.session` makes an explicit session: stateful
if you want bilm-tf's carried LSTM states, or with its own limits. Use a session from one
thread at a time.

Cleanup is deterministic: ``close()`` (or leaving a ``with`` block) releases the C objects at
once; a session stays usable after its model is closed (the library keeps the weights alive
until the last session is closed).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import threading
import weakref
from ctypes import byref, c_size_t
from typing import Iterator, List, Optional, Tuple, Union

import numpy as np

from . import _lib
from ._batch import SIZE_MAX, Batch, Dims, OutputSpec, Sentences, Shapes, pad, plan_calls, split
from ._handle import SharedHandle
from .errors import ElmoError, InvalidArgumentError

PathLike = Union[str, bytes, "os.PathLike[str]"]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive int, not {value!r}")
    return value


def _chunked(iterator, size: int, embed) -> Iterator[np.ndarray]:
    """Reads `size` items at a time, embeds them with `embed(chunk)` and yields the arrays one by
    one, keeping no reference to an array once it is handed over (constant memory)."""
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        arrays = embed(chunk)
        del chunk
        arrays.reverse()
        while arrays:
            yield arrays.pop()


def _iter_embed(sentences, output, batch_size, mix_weights, gamma, layer_norm, session) -> Iterator[np.ndarray]:
    """``iter_embed`` of a session and of a model: the arguments checked at once (not at the
    first ``next``), then each chunk embedded by the session ``session()`` returns then."""
    spec = OutputSpec(_lib.output_params, output, mix_weights, gamma, layer_norm)
    size = _positive_int(batch_size, "batch_size")
    if isinstance(sentences, (str, bytes)):
        raise InvalidArgumentError("sentences must be an iterable of texts or token lists, not a single "
                                   f"{type(sentences).__name__}: wrap it in a list ([text])")
    return _chunked(iter(sentences), size, lambda chunk: session()._embed_chunk(chunk, spec))


def _renumbered(error: ElmoError, group: List[int]) -> ElmoError:
    """The error of one call with its sentence numbers made those of the whole input (a call
    holds the non-empty sentences `group`, so its sentence k is the input's group[k])."""
    if group == list(range(len(group))):
        return error

    def whole(match) -> str:
        k = int(match.group(2))
        return f"{match.group(1)} {group[k]}" if k < len(group) else match.group(0)

    renamed = type(error)(re.sub(r"\b(sentence|text) (\d+)", whole, error.message), error.status)
    return renamed


def _free_model(pointer) -> None:
    _lib.load().elmo_model_free(pointer)


def _free_session(pointer) -> None:
    _lib.load().elmo_session_free(pointer)


class Session:
    """One thread's working memory on a model (and, if stateful, the carried LSTM states).

    Make it with :meth:`Model.session`. Not for concurrent use: a second thread entering a
    session that is busy gets :class:`elmo.SessionBusyError`.
    """

    def __init__(self, model_handle: SharedHandle, stateful: bool = False,
                 max_sentences: Optional[int] = None, max_tokens_per_sentence: Optional[int] = None,
                 max_tokens_per_call: Optional[int] = None, threads: Optional[int] = None):
        lib = _lib.load()
        params = _lib.session_params()
        params.stateful = 1 if stateful else 0
        for name, value in (("max_sentences", max_sentences), ("max_tokens_per_sentence", max_tokens_per_sentence),
                            ("max_tokens_per_call", max_tokens_per_call), ("n_threads", threads)):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SIZE_MAX:
                    raise InvalidArgumentError(f"{name} must be an int from 0 to {SIZE_MAX}, not {value!r}")
                setattr(params, name, value)
        self._model = model_handle
        pointer = _lib.SessionPointer()
        # The session holds a reference on the model handle for its whole life, so size
        # queries keep working after Model.close(); it is dropped when the session is freed.
        model = model_handle.acquire()
        try:
            lib.elmo_session_create(model, byref(params), byref(pointer))
        except BaseException:
            model_handle.release()
            raise
        self._handle = SharedHandle(pointer, _free_session, "session", on_freed=model_handle.release)
        self._finalizer = weakref.finalize(self, self._handle.release)
        self.stateful = bool(stateful)
        self.max_sentences = params.max_sentences
        self.max_tokens_per_sentence = params.max_tokens_per_sentence
        self.max_tokens_per_call = params.max_tokens_per_call
        #: Threads one call may use (0: every core).
        self.threads = params.n_threads

    # ---- embedding ----------------------------------------------------------------------

    def embed(self, sentences, output: str = "all", *, padded: bool = False, mix_weights=None,
              gamma: Optional[float] = None, layer_norm: Optional[bool] = None):
        """Embeds any number of sentences.

        ``sentences``: a list of raw texts (each split on whitespace like ``str.split()``) or a
        list of token lists. ``output``: ``"all"`` (layers, tokens, output_dim), ``"word_emb"``
        (tokens, token_dim), ``"lstm_outputs1"``/``"lstm_outputs2"``/``"elmo"`` (tokens,
        output_dim) or ``"default"`` (output_dim,): the mean of ``elmo`` over the tokens.
        ``mix_weights`` (one unnormalised weight per layer, softmax-normalised), ``gamma`` and
        ``layer_norm`` replace the model's own mix for ``elmo``/``default``.

        Returns one float32 array per sentence, or with ``padded=True`` a tuple
        ``(batch, lengths)``: one zero-padded array with the batch as its first axis and the
        token count of each sentence.

        Size: a stateless session cuts the input into library calls within its limits
        (``max_sentences``, ``max_tokens_per_call``); every sentence's vectors are the same
        bits as in one call, since they never depend on the rest of the batch. Only a single
        sentence longer than one call holds (``max_tokens_per_sentence``, 65,536 tokens by
        default) raises :class:`elmo.LimitExceededError`. An empty sentence (``[]``, ``""``,
        whitespace only) gives an array with 0 tokens, e.g. ``(layers, 0, dim)``, and a
        ``default`` vector of zeros; an empty list gives ``[]``. A stateful session makes
        exactly one call per ``embed`` (row i carries its state to row i of the next call), so
        its limits apply as they are and empty sentences raise InvalidInputError.
        """
        spec = OutputSpec(_lib.output_params, output, mix_weights, gamma, layer_norm)
        shapes = Shapes(self._model, spec)
        if self.stateful:
            batch = Batch(sentences)
            flat, lengths = self._run(batch, spec)
            arrays = split(flat, lengths, shapes)
        else:
            whole = Sentences(sentences)
            arrays = self._embed_all(whole, spec, shapes)
            lengths = whole.counts
        if padded:
            return pad(arrays, lengths, shapes), np.asarray(lengths, dtype=np.int64)
        return arrays

    def iter_embed(self, sentences, output: str = "all", *, batch_size: int = 64, mix_weights=None,
                   gamma: Optional[float] = None, layer_norm: Optional[bool] = None) -> Iterator[np.ndarray]:
        """Embeds an iterable of any length, even an endless generator, lazily: reads
        ``batch_size`` sentences, embeds them, yields their arrays one by one in order, then
        reads the next ones. Memory stays that of one chunk (the arrays of a chunk are views of
        one buffer, freed when the caller drops them). Arguments and arrays as :meth:`embed`;
        empty sentences give empty arrays (zeros for ``default``). In a stateful session each
        chunk is one call, so row i of a chunk carries its state to row i of the next chunk
        (AllenNLP's ``embed_sentences``)."""
        return _iter_embed(sentences, output, batch_size, mix_weights, gamma, layer_norm, lambda: self)

    def _embed_chunk(self, chunk: list, spec: OutputSpec) -> List[np.ndarray]:
        shapes = Shapes(self._model, spec)
        if self.stateful:
            return split(*self._run(Batch(chunk), spec), shapes)
        return self._embed_all(Sentences(chunk), spec, shapes)

    def _embed_all(self, sentences: Sentences, spec: OutputSpec, shapes: Shapes) -> List[np.ndarray]:
        """Every sentence's array: the non-empty ones in as few calls as the limits allow."""
        results: List[Optional[np.ndarray]] = [None] * len(sentences)
        for group in sentences.calls(self.max_sentences, self.max_tokens_per_call, self.max_tokens_per_sentence):
            try:
                batch = Batch([sentences.items[i] for i in group], encoded=sentences.is_texts)
                flat, lengths = self._run(batch, spec)
            except ElmoError as error:
                raise _renumbered(error, group) from None
            for i, array in zip(group, split(flat, lengths, shapes)):
                results[i] = array
        for i, n in enumerate(sentences.counts):
            if n == 0:
                results[i] = shapes.empty()
        return results  # type: ignore[return-value]

    def _run(self, batch: Batch, spec: OutputSpec) -> Tuple[np.ndarray, List[int]]:
        lib = _lib.load()
        n_floats = c_size_t()
        params = byref(spec.params)
        with self._handle.use() as session, self._model.use() as model:
            if batch.is_texts:
                lib.elmo_texts_output_size(model, batch.strings, batch.count, params, byref(n_floats),
                                           batch.token_counts)
            else:
                lib.elmo_tokens_output_size(model, batch.token_counts, batch.count, params, byref(n_floats))
            out = np.empty(n_floats.value, dtype=np.float32)
            out_pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            if batch.is_texts:
                lib.elmo_embed_texts(session, batch.strings, batch.count, params, out_pointer, out.size,
                                     batch.token_counts)
            else:
                lib.elmo_embed_tokens(session, batch.strings, batch.token_counts, batch.count, params,
                                      out_pointer, out.size)
        return out, batch.lengths()

    def embed_character_ids(self, character_ids, token_counts, output: str = "all", *,
                            sentence_boundaries: bool = False) -> List[np.ndarray]:
        """Embeds sentences given as character ids (``elmo_embed_character_ids``): bilm-tf's ids
        shifted by +1, as AllenNLP's ``batch_to_ids`` makes them. ``character_ids`` is an integer
        array of shape (tokens, characters_per_token), every sentence's rows back to back,
        ``token_counts[i]`` rows for sentence i (0 gives an empty array). With
        ``sentence_boundaries`` every per-token output has 2 more rows: the ``<S>`` position
        first and ``</S>`` last; a sentence of 0 tokens then gives those 2 rows (the biLM over
        ``<S> </S>`` alone, as AllenNLP computes an all-padding row). Cut into calls within the
        session's limits like :meth:`embed` (stateless sessions only split). Malformed rows
        raise InvalidInputError naming them."""
        spec = OutputSpec(_lib.output_params, output)
        if sentence_boundaries:
            spec.params.sentence_boundaries = 1
        ids = np.ascontiguousarray(character_ids, dtype=np.intc)
        counts = [int(n) for n in token_counts]
        width = self._characters_per_token()
        if ids.ndim != 2 or ids.shape[1] != width or ids.shape[0] != sum(counts) or min(counts, default=0) < 0:
            raise InvalidArgumentError(f"character_ids must have shape (sum(token_counts), {width}), not {ids.shape} "
                                       f"for token counts adding up to {sum(counts)}")
        starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        shapes = Shapes(self._model, spec)  # with sentence_boundaries: 2 more rows per sentence
        keep_empty = bool(sentence_boundaries)  # an empty sentence then has its two boundary rows
        results: List[np.ndarray] = [shapes.empty() if n == 0 and not keep_empty else None
                                     for n in counts]  # type: ignore[misc]
        if self.stateful:
            kept = [i for i, n in enumerate(counts) if n > 0 or keep_empty]
            groups = [kept] if kept else []
        else:
            groups = list(plan_calls(counts, self.max_sentences, self.max_tokens_per_call,
                                     self.max_tokens_per_sentence, keep_empty=keep_empty))
        lib = _lib.load()
        for group in groups:
            rows = np.ascontiguousarray(np.concatenate([ids[starts[i]:starts[i + 1]] for i in group]))
            group_counts = (c_size_t * len(group))(*[counts[i] for i in group])
            n_floats = c_size_t()
            with self._handle.use() as session, self._model.use() as model:
                lib.elmo_tokens_output_size(model, group_counts, len(group), byref(spec.params), byref(n_floats))
                out = np.empty(n_floats.value, dtype=np.float32)
                lib.elmo_embed_character_ids(session, rows.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), width,
                                             group_counts, len(group), byref(spec.params),
                                             out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size)
            for i, array in zip(group, split(out, [counts[i] for i in group], shapes)):
                results[i] = array
        return results

    def _characters_per_token(self) -> int:
        value = c_size_t()
        with self._model.use() as model:
            _lib.load().elmo_model_characters_per_token(model, byref(value))
        return value.value

    # ---- state and memory -----------------------------------------------------------------

    def reset(self) -> None:
        """Forgets the carried LSTM states of a stateful session (no effect on a stateless one)."""
        with self._handle.use() as session:
            _lib.load().elmo_session_reset(session)

    def release_memory(self) -> None:
        """Returns the session's working memory to the system; the next call allocates it again."""
        with self._handle.use() as session:
            _lib.load().elmo_session_release_memory(session)

    # ---- lifetime -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True after close()."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Frees the session (deferred until a call running on another thread returns). Idempotent."""
        self._finalizer()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("stateful" if self.stateful else "stateless")
        return f"<elmo.Session {state}>"


class Model:
    """An ELMo model, loaded once and shared by all threads.

    ``path`` is any of: a directory holding the options JSON and the weights HDF5 file, the
    weights file itself (its options found beside it, or given as ``options=``), a native
    libelmo model file, a TF Hub ``google/elmo`` module directory or ``.tar.gz`` (as far as the
    installed library reads them), a model name (``small``, ``medium``, ``original``,
    ``original5.5B``), a TF Hub address of ``google/elmo/2`` or ``/3`` (the ``original``
    model) or one of AllenNLP's published URLs of a model's weights (with ``options=`` its
    options URL, as ``ElmoEmbedder(options_file, weight_file)`` passes them). Names and
    addresses go through :mod:`elmo.resolve`: libelmo's cache, TF Hub's cache (for a TF Hub
    handle) and AllenNLP's cache are used when they hold the model, and only then is it
    downloaded (once, into libelmo's cache, or into ``$TFHUB_CACHE_DIR`` for a TF Hub handle
    when that is set); ``elmo.resolve.explain(path)`` says which. An existing local path
    always wins over a name and never touches the network.

    ``precision``: ``"fp32"`` (default; exact) or ``"bf16"``: the LSTM, highway and projection
    matrices in bfloat16, multiplying bf16-rounded activations (sums, states and outputs stay
    float32). Half the weight memory and about twice as fast on CPUs with AVX512_BF16; results
    differ from fp32 by rounding (cosine similarity above 0.999 per vector) and are, like fp32,
    the same bits on every CPU and thread count (the library picks ``vdpbf16ps`` kernels at run
    time where the CPU has AVX512_BF16, and elsewhere AVX-512F/AVX2/portable kernels that give
    identical bits, more slowly). A native file saved from a bf16 model holds
    bf16 weights (about half the size) and loads with ``precision="bf16"`` without conversion;
    ``"stored"`` uses whatever precision the file holds (fp32 for official files). A bf16 file
    loaded with ``precision="fp32"`` computes in fp32 with the rounded weights, widened exactly.
    ``"int8"``: the LSTM matrices in int8 (per-column scales) multiplying activations quantised
    per row, exact int32 products (``vpdpbusd`` where the CPU has VNNI, identical bits
    elsewhere), everything else as bf16; a quarter of the LSTM weight memory. Accuracy against
    fp32 in BENCHMARKS.md; deterministic like the others.
    """

    def __init__(self, path: PathLike, options: Optional[PathLike] = None, *, progress: Optional[bool] = None,
                 threads: Optional[int] = None, token_cache_bytes: Optional[int] = None, precision: str = "fp32"):
        from ._resolve import resolve_model
        lib = _lib.load()
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidArgumentError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        if options is not None and not isinstance(options, (str, bytes, os.PathLike)):
            raise InvalidArgumentError(f"options must be a str or os.PathLike, not {type(options).__name__}")
        self.path, options = resolve_model(os.fspath(path), progress=progress,
                                           options=os.fsdecode(options) if options is not None else None)
        #: The options file loaded with ``path``, None when the library finds it beside the
        #: weights (a model directory, a native file, a TF Hub module).
        self.options_path = options
        params = _lib.model_params(os.fsencode(options) if options is not None else None)
        if token_cache_bytes is not None:
            if isinstance(token_cache_bytes, bool) or not isinstance(token_cache_bytes, int) \
                    or not 0 <= token_cache_bytes <= SIZE_MAX:
                raise InvalidArgumentError(f"token_cache_bytes must be an int from 0 to {SIZE_MAX}, "
                                           f"not {token_cache_bytes!r}")
            params.token_cache_bytes = token_cache_bytes
        if precision == "stored":
            stored = _lib.c_precision()
            lib.elmo_model_stored_precision(os.fsencode(self.path), params.options_path, byref(stored))
            params.precision = stored.value
        elif isinstance(precision, str) and precision in _lib.PRECISIONS:
            params.precision = _lib.PRECISIONS[precision]
        else:
            raise InvalidArgumentError(f"precision must be 'fp32', 'bf16', 'int8' or 'stored', not {precision!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or not 0 <= threads <= 256):
            raise InvalidArgumentError(f"threads must be an int from 0 (every core) to 256, not {threads!r}")
        #: Threads per call of the sessions this model makes by default (None or 0: every core).
        self.threads = threads
        pointer = _lib.ModelPointer()
        lib.elmo_model_load(os.fsencode(self.path), byref(params), byref(pointer))
        self._handle = SharedHandle(pointer, _free_model, "model")
        # Owner reference: dropped by close() or when the Model is garbage collected.
        self._finalizer = weakref.finalize(self, self._handle.release)
        values = []
        for query in (lib.elmo_model_token_dim, lib.elmo_model_output_dim, lib.elmo_model_output_layer_count,
                      lib.elmo_model_lstm_layer_count):
            value = c_size_t()
            query(pointer, byref(value))
            values.append(value.value)
        self._dims = Dims(*values)
        value = _lib.c_precision()
        lib.elmo_model_precision(pointer, byref(value))
        self._precision = {v: k for k, v in _lib.PRECISIONS.items()}[value.value]
        self._local = threading.local()
        self._thread_sessions: "weakref.WeakSet[Session]" = weakref.WeakSet()
        self._sessions_lock = threading.Lock()
        self._closing = False

    # ---- sizes ----------------------------------------------------------------------------

    @property
    def precision(self) -> str:
        """The number format the model computes with: ``"fp32"``, ``"bf16"`` or ``"int8"``."""
        return self._precision

    @property
    def token_dim(self) -> int:
        """Width of ``word_emb`` (the projection dim)."""
        return self._dims.token_dim

    @property
    def output_dim(self) -> int:
        """Width of ``lstm_outputs<k>``, ``elmo`` and ``default`` (2 x the projection dim)."""
        return self._dims.output_dim

    @property
    def output_layer_count(self) -> int:
        """Layers of the ``all`` output: the token layer plus the biLSTM layers."""
        return self._dims.output_layer_count

    @property
    def lstm_layer_count(self) -> int:
        """Number of biLSTM layers (``lstm_outputs1`` .. ``lstm_outputs<count>``)."""
        return self._dims.lstm_layer_count

    @property
    def output_names(self) -> List[str]:
        """The named outputs of this model, as TF Hub names them, plus ``all``."""
        return (["all", "word_emb"] + [f"lstm_outputs{k}" for k in range(1, self.lstm_layer_count + 1)]
                + ["elmo", "default"])

    # ---- embedding ------------------------------------------------------------------------

    def embed(self, sentences, output: str = "all", *, padded: bool = False, mix_weights=None,
              gamma: Optional[float] = None, layer_norm: Optional[bool] = None):
        """Embeds any number of sentences statelessly with the calling thread's own session; see
        :meth:`Session.embed` for the arguments and results (empty sentences give empty arrays
        and zero ``default`` vectors). Safe to call from many threads."""
        return self._thread_session().embed(sentences, output, padded=padded, mix_weights=mix_weights,
                                             gamma=gamma, layer_norm=layer_norm)

    def iter_embed(self, sentences, output: str = "all", *, batch_size: int = 64, mix_weights=None,
                   gamma: Optional[float] = None, layer_norm: Optional[bool] = None) -> Iterator[np.ndarray]:
        """Embeds an iterable lazily, ``batch_size`` sentences at a time, at constant memory
        (works on endless generators); yields one array per sentence in order. See
        :meth:`Session.iter_embed`. Each chunk runs on the session of the thread that asks
        for it."""
        return _iter_embed(sentences, output, batch_size, mix_weights, gamma, layer_norm, self._thread_session)

    def embed_character_ids(self, character_ids, token_counts, output: str = "all", *,
                            sentence_boundaries: bool = False) -> List[np.ndarray]:
        """:meth:`Session.embed_character_ids` with the calling thread's own (stateless) session."""
        return self._thread_session().embed_character_ids(character_ids, token_counts, output,
                                                          sentence_boundaries=sentence_boundaries)

    def default_mix(self) -> Tuple[np.ndarray, float, bool]:
        """The model's own scalar mix, used by ``elmo`` and ``default`` unless another is given:
        ``(weights, gamma, layer_norm)`` with one unnormalised weight per layer (softmax-
        normalised when applied). Equal weights and gamma 1 for official files; a TF Hub
        module's learned aggregation."""
        weights = np.zeros(self.output_layer_count, dtype=np.float32)
        gamma, layer_norm = ctypes.c_float(), ctypes.c_int()
        with self._handle.use() as model:
            _lib.load().elmo_model_default_mix(model, weights.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                               weights.size, byref(gamma), byref(layer_norm))
        return weights, gamma.value, bool(layer_norm.value)

    @property
    def characters_per_token(self) -> int:
        """Character ids per token (the options' max_characters_per_token: 50 for released models)."""
        value = c_size_t()
        with self._handle.use() as model:
            _lib.load().elmo_model_characters_per_token(model, byref(value))
        return value.value

    def _thread_session(self) -> Session:
        session = getattr(self._local, "session", None)
        if session is None or session.closed:
            session = self.session()
            with self._sessions_lock:
                if self._closing:  # close() ran meanwhile and did not see this session
                    session.close()
                    raise InvalidArgumentError("the model is closed")
                self._thread_sessions.add(session)
            # Dropped (and freed) with the thread's local storage when the thread ends.
            self._local.session = session
        return session

    def session(self, stateful: bool = False, *, max_sentences: Optional[int] = None,
                max_tokens_per_sentence: Optional[int] = None, max_tokens_per_call: Optional[int] = None,
                threads: Optional[int] = None) -> Session:
        """A new session. ``stateful=True``: row i of each call starts from the LSTM states with
        which row i of the previous call ended (bilm-tf, AllenNLP); ``reset()`` forgets them.
        The limits default to the library's (16384 sentences, 65536 tokens per sentence and
        per call). ``threads``: threads one call may use (default: the model's ``threads``,
        else every core); results are bit-identical whatever the count. When several Python
        threads embed at once, give each a share of the cores (e.g. ``threads=1``)."""
        if self._closing:
            raise InvalidArgumentError("the model is closed")
        return Session(self._handle, stateful, max_sentences, max_tokens_per_sentence,
                       max_tokens_per_call, self.threads if threads is None else threads)

    # ---- native files and the token cache --------------------------------------------------

    def save_native(self, path: PathLike) -> None:
        """Writes the model as a native libelmo file (one memory-mapped safetensors file: loads
        in milliseconds, shared between processes, bit-identical embeddings), in the model's
        precision (a bf16 file is about half the size)."""
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise InvalidArgumentError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        with self._handle.use() as model:
            _lib.load().elmo_model_save_native(model, os.fsencode(path))

    def cache_stats(self) -> dict:
        """The token-layer cache's counters over all sessions: ``hits``, ``misses``, ``entries``."""
        hits, misses, entries = c_size_t(), c_size_t(), c_size_t()
        with self._handle.use() as model:
            _lib.load().elmo_model_cache_stats(model, byref(hits), byref(misses), byref(entries))
        return {"hits": hits.value, "misses": misses.value, "entries": entries.value}

    # ---- lifetime -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._closing or not self._finalizer.alive

    def close(self) -> None:
        """Releases the model and the sessions ``embed`` made. Sessions made with
        :meth:`session` keep working until they are closed. Idempotent."""
        with self._sessions_lock:
            if self._closing:
                return
            self._closing = True
            sessions = list(self._thread_sessions)
        for session in sessions:
            session.close()
        self._finalizer()

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"output_dim={self.output_dim}, layers={self.output_layer_count}"
        return f"<elmo.Model {self.path!r} {state}>"
