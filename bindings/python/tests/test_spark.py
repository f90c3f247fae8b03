"""elmo.spark.embed_dataframe in local[2] mode: one output row per input row, bit-identical to
elmo.Model.embed, the model loaded once per Python worker. One SparkSession for the module
(the JVM's start is most of this file's time)."""

import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'libelmo[spark]')")
pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'libelmo[spark]')")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime for Spark (Debian: apt-get install openjdk-17-jre-headless)", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

import elmo  # noqa: E402
import elmo.spark  # noqa: E402
from conftest import SENTENCES  # noqa: E402
from scale_rows import TOO_LONG_ROW, acceptance_texts, check_rows  # noqa: E402

PARTITIONS = 8  # more tasks than the 2 task slots: workers are reused across tasks


@pytest.fixture(scope="module")
def spark():
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run the tests' interpreter
    session = (SparkSession.builder.master("local[2]").appName("libelmo-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.task.cpus", "1").config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


def frame(spark, texts, partitions=PARTITIONS):
    rows = spark.sparkContext.parallelize(list(enumerate(texts)), partitions)
    return spark.createDataFrame(rows, "id long, text string")


@pytest.mark.parametrize("output", ["default", "elmo"])
def test_acceptance_rows_are_exact(spark, fixture_dir, model, output):
    texts = acceptance_texts()
    out = elmo.spark.embed_dataframe(frame(spark, texts), "text", model=fixture_dir, output=output,
                                     error_col="error")
    vector_type = T.ArrayType(T.FloatType()) if output == "default" else T.ArrayType(T.ArrayType(T.FloatType()))
    # Declared up front: the schema is known before any job runs.
    assert out.schema.fieldNames() == ["id", "text", "embedding", "error"]
    assert out.schema["embedding"].dataType == vector_type
    rows = sorted(out.collect(), key=lambda row: row.id)
    assert [row.id for row in rows] == list(range(len(texts)))
    assert [row.text for row in rows] == list(texts)
    errors = [row.error for row in rows]
    assert [i for i, e in enumerate(errors) if e is not None] == [TOO_LONG_ROW]
    check_rows(texts, [row.embedding for row in rows], errors, model, output)


def test_model_loads_once_per_worker(spark, fixture_dir):
    path = fixture_dir

    def probe(batches):  # defined here so that Spark ships it by value
        import os as os_
        import pyarrow as pa_
        import elmo as elmo_
        elmo_.shared_model(path)
        for batch in batches:
            yield pa_.record_batch({"pid": [os_.getpid()] * batch.num_rows,
                                    "loads": [elmo_.shared_model_loads()] * batch.num_rows})

    embedded = elmo.spark.embed_dataframe(frame(spark, SENTENCES * 8), "text", model=fixture_dir)
    assert embedded.count() == len(SENTENCES) * 8
    report = frame(spark, SENTENCES * 8).mapInArrow(probe, "pid long, loads long").distinct().collect()
    pids = {row.pid for row in report}
    assert all(row.loads == 1 for row in report), report
    assert len(pids) < PARTITIONS  # processes were reused across tasks, and none loaded twice


def test_shipped_native_file(spark, fixture_dir, model, tmp_path):
    native = tmp_path / "fixture-model.elmo"
    model.save_native(str(native))
    spark.sparkContext.addFile(str(native))
    texts = SENTENCES + [None, ""]
    out = elmo.spark.embed_dataframe(frame(spark, texts, 2), model="sparkfiles:fixture-model.elmo", output="elmo")
    rows = sorted(out.collect(), key=lambda row: row.id)
    check_rows(texts, [row.embedding for row in rows], None, model, "elmo")


def test_threads_default_to_task_cpus(spark, fixture_dir, monkeypatch):
    seen = {}
    original = elmo.spark.make_partition_function

    def capture(*args):
        seen["threads"] = args[6]
        return original(*args)

    monkeypatch.setattr(elmo.spark, "make_partition_function", capture)
    df = frame(spark, SENTENCES, 1)
    elmo.spark.embed_dataframe(df, model=fixture_dir)
    assert seen["threads"] == int(spark.sparkContext.getConf().get("spark.task.cpus")) == 1
    elmo.spark.embed_dataframe(df, model=fixture_dir, threads=2)
    assert seen["threads"] == 2


def test_caller_errors(spark, fixture_dir):
    df = spark.createDataFrame([(1, "a")], "n long, text string")
    with pytest.raises(elmo.InvalidArgumentError, match="not a string column"):
        elmo.spark.embed_dataframe(df, "n", model=fixture_dir)
    with pytest.raises(elmo.InvalidArgumentError, match="no column 'body'"):
        elmo.spark.embed_dataframe(df, "body", model=fixture_dir)
    with pytest.raises(elmo.InvalidArgumentError, match="already has a column 'n'"):
        elmo.spark.embed_dataframe(df, model=fixture_dir, output_col="n")
    with pytest.raises(elmo.InvalidArgumentError, match="model must be"):
        elmo.spark.embed_dataframe(df)
    with pytest.raises(elmo.InvalidArgumentError, match="unknown output"):
        elmo.spark.embed_dataframe(df, model=fixture_dir, output="bogus")


def test_worker_without_elmo_gets_a_clear_message(fixture_dir):
    from pyspark import cloudpickle
    function = elmo.spark.make_partition_function("text", fixture_dir, "default", "embedding", None, "fp32", 1,
                                                  64, 8192, {})
    payload = cloudpickle.dumps(function)
    # A worker whose Python cannot import elmo: unpickling must work (the function carries no
    # reference to elmo), and running it must say what to fix.
    code = ("import pickle, sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'elmo': raise ImportError('No module named elmo')\n"
            "sys.meta_path.insert(0, Block())\n"
            "function = pickle.loads(sys.stdin.buffer.read())\n"
            "try:\n"
            "    next(function(iter([])))\n"
            "except RuntimeError as e:\n"
            "    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, timeout=120)
    message = result.stdout.decode()
    assert "cannot import elmo" in message and "PYSPARK_PYTHON" in message and sys.executable in message, \
        message + result.stderr.decode()
    assert pickle.loads(payload)  # and where elmo is importable the same payload loads


def test_local_workers_on_another_python_are_warned_about(tmp_path):
    other = tmp_path / "python3"
    other.write_text("")
    here = sys.executable
    message = elmo.spark.worker_python_mismatch("local[2]", None, str(other), here)
    assert f"PYSPARK_PYTHON={here}" in message and str(other) in message
    assert elmo.spark.worker_python_mismatch("local[2]", here, str(other), here) is None   # configured
    assert elmo.spark.worker_python_mismatch("local[2]", None, here, here) is None         # the same
    assert elmo.spark.worker_python_mismatch("yarn", None, str(other), here) is None       # a cluster's own


def test_output_types():
    assert elmo.spark.output_type("default") == T.ArrayType(T.FloatType())
    assert elmo.spark.output_type("lstm_outputs1") == T.ArrayType(T.ArrayType(T.FloatType()))
    assert elmo.spark.output_type("all") == T.ArrayType(T.ArrayType(T.ArrayType(T.FloatType())))


def test_mixed_vectors_match(spark, fixture_dir, model):
    out = elmo.spark.embed_dataframe(frame(spark, SENTENCES, 2), model=fixture_dir, mix_weights=[0, 1, 1],
                                     layer_norm=True)
    rows = sorted(out.collect(), key=lambda row: row.id)
    expected = model.embed(SENTENCES, "default", mix_weights=[0, 1, 1], layer_norm=True)
    assert all(np.array_equal(np.array(r.embedding, dtype=np.float32), e) for r, e in zip(rows, expected))
