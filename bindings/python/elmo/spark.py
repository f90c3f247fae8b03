"""Embed a text column of a Spark DataFrame: ``elmo.spark.embed_dataframe``.

    import elmo.spark
    out = elmo.spark.embed_dataframe(df, text_col="text", model="/shared/models/original.elmo")
    out.write.parquet("embedded/")          # the input columns + "embedding": array<float>

Built on ``DataFrame.mapInArrow``: each task streams its partition's Arrow batches through
:func:`elmo.arrow.embed_batches` in a Python worker, where the model is loaded once per
worker process (:func:`elmo.shared_model`) and reused by every later task of that worker.
The result schema is declared up front (no job runs until you act on the DataFrame).

The workers must run a Python environment where ``import elmo`` works and finds libelmo:
Spark starts ``$PYSPARK_PYTHON`` (``spark.pyspark.python``) on the executors, so point it at
the same interpreter or environment as the driver (``PYSPARK_PYTHON=$(which python)`` in
local mode; on a cluster an environment installed on every node, or shipped with
``spark.archives``). A task whose worker cannot import elmo fails with a message naming that
worker's interpreter; in local mode ``embed_dataframe`` warns up front when the workers would run
another ``python3`` than the driver. The model path must be readable by every executor: shared storage
(NFS, a mounted bucket), or a file shipped with ``spark.sparkContext.addFile(path)`` and named
``model="sparkfiles:NAME"`` (each worker finds its copy with ``SparkFiles.get(NAME)``).

pyspark is optional: ``pip install 'libelmo[spark]'``; only this module imports it.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from typing import Optional

try:
    from pyspark.sql import types as _types
except ImportError as _error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("elmo.spark needs pyspark (and pyarrow): pip install 'libelmo[spark]' "
                      f"[{_error}]") from _error

from ._rows import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, output_ndim
from .errors import InvalidArgumentError
from .model import Model

__all__ = ["embed_dataframe", "output_type", "SPARKFILES_PREFIX"]

#: ``model="sparkfiles:NAME"``: the file shipped with ``SparkContext.addFile``, resolved on each worker.
SPARKFILES_PREFIX = "sparkfiles:"


def output_type(output: str = "default") -> "_types.DataType":
    """The Spark type of the vector column: ``array<float>`` for ``default``, one more
    ``array`` level per dimension of the per-token outputs."""
    dtype: _types.DataType = _types.FloatType()
    for _ in range(output_ndim(output)):
        dtype = _types.ArrayType(dtype, containsNull=True)
    return dtype


def _warn_if_workers_run_another_python(spark) -> None:
    try:
        conf = spark.sparkContext.getConf()
    except Exception:  # Spark Connect: the workers are not ours to inspect
        return
    message = worker_python_mismatch(conf.get("spark.master", ""),
                                     conf.get("spark.pyspark.python", None) or os.environ.get("PYSPARK_PYTHON"),
                                     shutil.which("python3"), sys.executable)
    if message:
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _task_cpus(spark) -> int:
    try:
        return max(1, int(spark.sparkContext.getConf().get("spark.task.cpus", "1")))
    except Exception:  # Spark Connect has no SparkContext: its default
        return 1


def worker_python_mismatch(master: str, configured: Optional[str], path_python3: Optional[str],
                           executable: str) -> Optional[str]:
    """Why local-mode workers would run another Python than the driver's, or None.

    With neither ``spark.pyspark.python`` nor ``$PYSPARK_PYTHON`` set, Spark starts ``python3``
    from PATH: a driver run as ``venv/bin/python`` without activating the venv then gets
    workers without elmo. Only local mode is checked (a cluster's nodes have their own PATH).
    """
    if not master.startswith("local") or configured or not path_python3:
        return None
    if os.path.realpath(path_python3) == os.path.realpath(executable):
        return None
    return (f"elmo.spark: Spark's workers will run python3 from PATH ({path_python3}), not this interpreter "
            f"({executable}), and may not import elmo: set PYSPARK_PYTHON={executable}")


def make_partition_function(text_col: str, model_path: str, output: str, output_col: str,
                            error_col: Optional[str], precision: str, threads: int, batch_size: int,
                            max_batch_tokens: int, mix: dict):
    """The function ``mapInArrow`` runs on the workers.

    It refers to nothing of this module, only to the plain values it closes over, so Spark
    ships it by value and a worker imports elmo when the function runs, not when it is
    unpickled: a worker without elmo then fails with the message below instead of a bare
    "No module named 'elmo'" from the unpickler.
    """
    def embed_partition(batches):
        try:
            import elmo.arrow
        except ImportError as error:
            import sys
            raise RuntimeError(
                f"elmo.spark: this Spark worker's Python ({sys.executable}) cannot import elmo ({error}). "
                "The workers must run an environment with libelmo installed: set PYSPARK_PYTHON (or "
                "spark.pyspark.python) to the driver's interpreter, or install libelmo on every node.") from error
        path = model_path
        if path.startswith("sparkfiles:"):
            from pyspark import SparkFiles
            path = SparkFiles.get(path[len("sparkfiles:"):])
        yield from elmo.arrow.embed_batches(batches, text_col, model=path, output=output, output_col=output_col,
                                            error_col=error_col, precision=precision, threads=threads,
                                            batch_size=batch_size, max_batch_tokens=max_batch_tokens, **mix)
    return embed_partition


def embed_dataframe(df, text_col: str = "text", model=None, output: str = "default",
                    output_col: str = "embedding", *, error_col: Optional[str] = None, precision: str = "fp32",
                    threads: Optional[int] = None, batch_size: int = DEFAULT_BATCH_SIZE,
                    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS, mix_weights=None,
                    gamma: Optional[float] = None, layer_norm: Optional[bool] = None):
    """``df`` with the embedding of ``text_col`` added as ``output_col`` (lazily, one row per row).

    ``model``: a path every executor can read (prefer the native ``.elmo`` file: memory-mapped,
    one copy per host), a model name, ``"sparkfiles:NAME"`` for a file added with
    ``spark.sparkContext.addFile``, or an :class:`elmo.Model` (its path is used). ``threads``:
    threads per library call in each task (default ``spark.task.cpus``). The vector column is
    ``array<float>`` for ``default`` and ``array<array<float>>`` (one inner array per token)
    for ``elmo``, ``word_emb``, ``lstm_outputs<k>``; nulls, empty texts and refused rows as in
    :func:`elmo.arrow.embed_table` (``error_col`` names a string column for the reasons).
    Vectors are bit-identical to ``elmo.Model.embed``.
    """
    if isinstance(model, Model):
        if precision == "fp32":
            precision = model.precision
        model = model.path
    if not isinstance(model, str) or not model:
        raise InvalidArgumentError("model must be a path every executor can read, a model name, "
                                   "'sparkfiles:NAME' or an elmo.Model")
    if text_col not in df.columns:
        raise InvalidArgumentError(f"no column {text_col!r} (columns: {', '.join(df.columns)})")
    for name in (output_col, error_col):
        if name is not None and name in df.columns:
            raise InvalidArgumentError(f"the DataFrame already has a column {name!r}: choose another name")
    if not isinstance(df.schema[text_col].dataType, _types.StringType):
        raise InvalidArgumentError(f"column {text_col!r} is {df.schema[text_col].dataType.simpleString()}, "
                                   "not a string column")
    fields = list(df.schema.fields) + [_types.StructField(output_col, output_type(output), True)]
    if error_col is not None:
        fields.append(_types.StructField(error_col, _types.StringType(), True))
    if threads is None:
        threads = _task_cpus(df.sparkSession)
    _warn_if_workers_run_another_python(df.sparkSession)
    function = make_partition_function(text_col, model, output, output_col, error_col, precision, threads,
                                       batch_size, max_batch_tokens,
                                       {"mix_weights": mix_weights, "gamma": gamma, "layer_norm": layer_norm})
    return df.mapInArrow(function, _types.StructType(fields))
