"""elmo.ray.Embedder: the map_batches callable class. Its batch handling runs without Ray (in CI);
the Ray Data pipeline of the docs runs where Ray is installed and is skipped otherwise."""

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'libelmo[arrow]')")

import elmo  # noqa: E402
import elmo.ray  # noqa: E402
from conftest import SENTENCES  # noqa: E402
from scale_rows import check_rows  # noqa: E402

TEXTS = SENTENCES + [None, "", "x " * 70000]


def test_arrow_and_pandas_batches(fixture_dir, model):
    embedder = elmo.ray.Embedder("text", model=fixture_dir, output="elmo", error_col="error")
    out = embedder(pa.table({"text": TEXTS}))
    assert isinstance(out, pa.Table)
    check_rows(TEXTS[:-1], out.column("embedding").to_pylist()[:-1], None, model, "elmo")
    assert out.column("embedding")[len(TEXTS) - 1].as_py() is None
    pd = pytest.importorskip("pandas")
    frame = embedder(pd.DataFrame({"text": TEXTS}))
    assert all((a is None and b is None) or np.array_equal(a, np.array(b, dtype=np.float32).reshape(a.shape))
               for a, b in zip(frame["embedding"], out.column("embedding").to_pylist()))


def test_other_batch_formats_are_refused(fixture_dir):
    embedder = elmo.ray.Embedder("text", model=fixture_dir)
    with pytest.raises(elmo.InvalidArgumentError, match="batch_format='pyarrow'"):
        embedder({"text": np.array(["a"])})


def test_ray_data_pipeline(fixture_dir, model):
    ray = pytest.importorskip("ray", reason="Ray is not installed: the Ray Data recipe runs where "
                                            "`pip install 'libelmo[ray]'` was done (not in CI)")
    import ray.data
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_arrow(pa.table({"id": list(range(len(TEXTS))), "text": TEXTS}))
        out = ds.map_batches(elmo.ray.Embedder, batch_format="pyarrow", batch_size=4, concurrency=2, num_cpus=1,
                             fn_constructor_kwargs={"text_col": "text", "model": fixture_dir, "threads": 1})
        rows = sorted(out.take_all(), key=lambda row: row["id"])
    finally:
        ray.shutdown()
    assert [row["id"] for row in rows] == list(range(len(TEXTS)))
    check_rows(TEXTS[:-1], [row["embedding"] for row in rows][:-1], None, model, "default")
    assert rows[-1]["embedding"] is None
