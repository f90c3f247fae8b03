"""elmo.dask.embed_partition through dask.dataframe.map_partitions: one output row per input
row (None/NaN/pd.NA included), bit-identical to elmo.Model.embed."""

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'libelmo[dask]')")

import elmo  # noqa: E402
import elmo.dask  # noqa: E402
from conftest import SENTENCES  # noqa: E402
from scale_rows import TOO_LONG_ROW, acceptance_texts, check_rows  # noqa: E402

MISSING = [None, float("nan"), pd.NA]


def acceptance_frame() -> "pd.DataFrame":
    """The acceptance rows, each null spelled in turn as None, NaN and pd.NA (object column)."""
    texts = list(acceptance_texts())
    nulls = iter(MISSING * len(texts))
    values = [next(nulls) if t is None else t for t in texts]
    return pd.DataFrame({"id": range(len(texts)), "text": pd.Series(values, dtype=object)})


@pytest.mark.parametrize("output", ["default", "elmo"])
def test_acceptance_through_dask(fixture_dir, model, output):
    dask = pytest.importorskip("dask", reason="dask is not installed (pip install 'libelmo[dask]')")
    import dask.dataframe as dd
    pdf = acceptance_frame()
    # Keep the object column as it is (Dask would otherwise turn it into Arrow strings, and
    # NaN/pd.NA into one kind of null before the partitions reach us).
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(pdf, npartitions=5)
        out = ddf.map_partitions(elmo.dask.embed_partition, "text", model=fixture_dir, output=output,
                                 error_col="error", meta=elmo.dask.output_meta(ddf, "text", error_col="error"))
        result = out.compute(scheduler="threads")
    assert list(result.columns) == ["id", "text", "embedding", "error"]
    assert list(result["id"]) == list(range(len(pdf)))
    errors = list(result["error"])
    assert [i for i, e in enumerate(errors) if e is not None] == [TOO_LONG_ROW]
    check_rows(acceptance_texts(), list(result["embedding"]), errors, model, output)


def test_embed_dataframe_declares_meta(fixture_dir, model):
    dd = pytest.importorskip("dask.dataframe", reason="dask is not installed (pip install 'libelmo[dask]')")
    texts = SENTENCES + [None, ""]
    ddf = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=2)
    loads = elmo.shared_model_loads()
    out = elmo.dask.embed_dataframe(ddf, "text", model=fixture_dir, output="elmo")
    assert elmo.shared_model_loads() == loads  # building the graph ran nothing
    result = out.compute(scheduler="threads")
    check_rows(texts, list(result["embedding"]), None, model, "elmo")


def test_partition_keeps_index_and_columns(fixture_dir, model):
    pdf = pd.DataFrame({"text": ["A bank loan .", pd.NA, "", "x " * 70000, 7], "n": range(5)},
                       index=[10, 20, 30, 40, 50])
    out = elmo.dask.embed_partition(pdf, "text", model=model, error_col="why")
    assert list(out.index) == [10, 20, 30, 40, 50] and list(out.columns) == ["text", "n", "embedding", "why"]
    assert np.array_equal(out.loc[10, "embedding"], model.embed(["A bank loan ."], "default")[0])
    assert out.loc[20, "embedding"] is None and out.loc[20, "why"] is None
    assert not out.loc[30, "embedding"].any()
    assert out.loc[40, "embedding"] is None and "65536" in out.loc[40, "why"]
    assert out.loc[50, "embedding"] is None and "int value, not a str" in out.loc[50, "why"]
    assert "embedding" not in pdf.columns  # the input frame is not modified


def test_pandas_string_dtype(fixture_dir, model):
    pdf = pd.DataFrame({"text": pd.array(["A bank loan .", None, "Naïve café"], dtype="string")})
    out = elmo.dask.embed_partition(pdf, "text", model=fixture_dir, output="elmo")
    check_rows(["A bank loan .", None, "Naïve café"], list(out["embedding"]), None, model, "elmo")


def test_empty_partition_loads_nothing(fixture_dir):
    loads = elmo.shared_model_loads()
    out = elmo.dask.embed_partition(pd.DataFrame({"text": pd.Series([], dtype=object)}), "text",
                                    model="/no/such/model")
    assert len(out) == 0 and "embedding" in out.columns and elmo.shared_model_loads() == loads
