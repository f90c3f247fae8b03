"""elmo.arrow.embed_table: one output row per input row, bit-identical to elmo.Model.embed."""

import subprocess
import sys

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'libelmo[arrow]')")

import elmo  # noqa: E402
import elmo.arrow  # noqa: E402
from conftest import SENTENCES  # noqa: E402
from scale_rows import TOO_LONG_ROW, acceptance_texts, check_rows  # noqa: E402


def acceptance_table(chunks: int = 3) -> "pa.Table":
    texts = list(acceptance_texts())
    ids = list(range(len(texts)))
    step = len(texts) // chunks + 1  # several record batches, as a file or a shuffle gives them
    batches = [pa.record_batch({"id": ids[k:k + step], "text": texts[k:k + step]}) for k in range(0, len(texts), step)]
    return pa.Table.from_batches(batches)


@pytest.mark.parametrize("output", ["default", "elmo"])
def test_acceptance_rows_are_exact(fixture_dir, model, output):
    table = acceptance_table()
    out = elmo.arrow.embed_table(table, "text", model=fixture_dir, output=output, error_col="error")
    assert out.num_rows == table.num_rows
    out.validate(full=True)  # offsets, validity bitmaps and child lengths consistent
    assert out.column("id").to_pylist() == table.column("id").to_pylist()
    assert out.column("text").equals(table.column("text"))
    expected_type = pa.list_(pa.float32()) if output == "default" else pa.list_(pa.list_(pa.float32()))
    assert out.schema.field("embedding").type == expected_type
    errors = out.column("error").to_pylist()
    assert [i for i, e in enumerate(errors) if e is not None] == [TOO_LONG_ROW]
    check_rows(acceptance_texts(), out.column("embedding").to_pylist(), errors, model, output)


@pytest.mark.parametrize("output", ["word_emb", "lstm_outputs2", "all"])
def test_other_outputs(fixture_dir, model, output):
    texts = SENTENCES + [None, ""]
    out = elmo.arrow.embed_table(pa.table({"text": texts}), "text", model=model, output=output)
    depth = 3 if output == "all" else 2
    dtype = pa.float32()
    for _ in range(depth):
        dtype = pa.list_(dtype)
    assert out.schema.field("embedding").type == dtype
    check_rows(texts, out.column("embedding").to_pylist(), None, model, output)


def test_batching_changes_no_bit(fixture_dir, model):
    texts = list(acceptance_texts()[:300])
    table = pa.table({"text": texts})
    outs = [elmo.arrow.embed_table(table, "text", model=model, output="elmo", batch_size=b, max_batch_tokens=t)
            for b, t in ((1, 8192), (7, 100), (64, 8192), (300, 65536))]
    for out in outs[1:]:
        assert out.equals(outs[0])
    check_rows(texts, outs[0].column("embedding").to_pylist(), None, model, "elmo")


def test_record_batch_and_stream_inputs(fixture_dir, model):
    texts = SENTENCES + [None, "", "a bank"]
    batch = pa.record_batch({"text": pa.array(texts, type=pa.large_string())})
    out = elmo.arrow.embed_table(batch, "text", model=fixture_dir, mix_weights=[1, 0, 2], gamma=0.5)
    assert isinstance(out, pa.RecordBatch) and out.num_rows == len(texts)
    expected = model.embed([t for t in texts if t], "default", mix_weights=[1, 0, 2], gamma=0.5)
    got = [np.array(v, dtype=np.float32) for v, t in zip(out.column("embedding").to_pylist(), texts) if t]
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))
    stream = elmo.arrow.embed_table(iter([batch, batch.slice(2, 3)]), "text", model=fixture_dir)
    parts = list(stream)
    assert [p.num_rows for p in parts] == [len(texts), 3]
    assert parts[1].column("embedding").equals(parts[0].column("embedding").slice(2, 3))


def test_large_outputs_come_in_several_batches(fixture_dir, model, monkeypatch):
    # A small cap stands in for 256 MB: the rows come out in order, in batches under the cap.
    monkeypatch.setattr(elmo.arrow, "MAX_BATCH_FLOATS", 2000)
    texts = list(acceptance_texts()[:120])
    parts = list(elmo.arrow.embed_batches([pa.record_batch({"text": texts})], "text", model=model, output="elmo"))
    assert len(parts) > 3
    assert sum(p.num_rows for p in parts) == len(texts)
    vectors = [v for p in parts for v in p.column("embedding").to_pylist()]
    check_rows(texts, vectors, None, model, "elmo")
    table = elmo.arrow.embed_table(pa.table({"text": texts}), "text", model=model, output="elmo")
    assert table.column("embedding").to_pylist() == vectors


def test_empty_inputs(fixture_dir):
    empty = pa.table({"text": pa.array([], type=pa.string())})
    out = elmo.arrow.embed_table(empty, "text", model=fixture_dir)
    assert out.num_rows == 0 and out.schema.field("embedding").type == pa.list_(pa.float32())
    nulls = pa.table({"text": pa.nulls(3)})
    assert elmo.arrow.embed_table(nulls, "text", model=fixture_dir).column("embedding").to_pylist() == [None] * 3


def test_caller_errors_are_raised(fixture_dir):
    table = pa.table({"text": ["a"], "n": [1]})
    with pytest.raises(elmo.InvalidArgumentError, match="no column 'missing'"):
        elmo.arrow.embed_table(table, "missing", model=fixture_dir)
    with pytest.raises(elmo.InvalidArgumentError, match="not a string column"):
        elmo.arrow.embed_table(table, "n", model=fixture_dir)
    with pytest.raises(elmo.InvalidArgumentError, match="already has a column 'n'"):
        elmo.arrow.embed_table(table, "text", model=fixture_dir, output_col="n")
    with pytest.raises(elmo.InvalidArgumentError, match="unknown output"):
        elmo.arrow.embed_table(table, "text", model=fixture_dir, output="bogus")
    with pytest.raises(elmo.InvalidArgumentError, match="model is required"):
        elmo.arrow.embed_table(table, "text")


def test_bad_rows_lose_only_themselves(fixture_dir, model):
    texts = ["A bank loan .", "has a \0 NUL", "x " * 70000, "The river bank ."] * 3
    out = elmo.arrow.embed_table(pa.table({"text": texts}), "text", model=model, error_col="error")
    errors = out.column("error").to_pylist()
    assert [e is not None for e in errors] == [False, True, True, False] * 3
    assert "NUL" in errors[1] and "65536" in errors[2]
    vectors = out.column("embedding").to_pylist()
    for i, text in enumerate(texts):
        if errors[i] is None:
            assert np.array_equal(np.array(vectors[i], dtype=np.float32), model.embed([text], "default")[0])
        else:
            assert vectors[i] is None


def test_missing_pyarrow_names_the_extra():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'pyarrow': raise ImportError('blocked for the test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import elmo\n"
            "try:\n"
            "    import elmo.arrow\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install 'libelmo[arrow]'" in result.stdout, result.stdout + result.stderr
