"""Spark benchmark: the benchmark corpus through elmo.spark.embed_dataframe in local Spark with
2 task slots, against the plain Python binding in the same run (`make bench-spark`).

Measured, in this order, in one process (the driver):
1. the plain binding: elmo.Model(model, threads=2).embed(batch of 64 texts, "default") over the
   corpus, the reference throughput;
2. Spark's start-up: the SparkSession (JVM) and a first job on 2 rows per slot, which starts
   the Python workers and loads the model in each (engine start-up time);
3. Spark: the same texts as a DataFrame of --partitions partitions, embedded with
   embed_dataframe (spark.task.cpus=1: two tasks of one thread each) and written to Spark's
   "noop" sink (every row computed and converted to Arrow, nothing stored).
4. the first 200 texts through the same Spark path, collected and compared bit for bit with the
   plain binding's vectors.

Every figure is printed with the CPU and the CPU time other processes took during it
("other load", cores): on a shared machine a figure measured under load is not comparable.
"""

import argparse
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.normpath(os.path.join(HERE, "..", ".."))
RANDOM_MODEL = os.path.join(REPOSITORY, ".build", "bench-models", "original-seed2018", "model.safetensors")
FIXTURE = os.path.normpath(os.path.join(REPOSITORY, "..", "shared", "fixtures", "bilm-tf"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_name() -> str:
    """The model name with family/model and the vector extensions the kernels can use."""
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" in line:
                key, value = (part.strip() for part in line.split(":", 1))
                info.setdefault(key, value)
            elif info:
                break
    flags = info.get("flags", "").split()
    vector = [f for f in ("avx2", "avx512f", "avx512_bf16") if f in flags]
    return (f"{info.get('model name', platform.processor() or 'unknown')} (family {info.get('cpu family', '?')} "
            f"model {info.get('model', '?')}; {', '.join(vector) or 'no AVX2'})")


def machine_busy_seconds() -> float:
    with open("/proc/stat") as f:
        values = [float(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root` and all its descendants (the JVM and the Python workers), counting
    their finished children too."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(float(v) for v in fields[11:15]) / TICK
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


class Measured:
    """Wall time, our process tree's CPU and the other processes' load over a `with` block."""

    def __enter__(self):
        self.busy, self.mine, self.start = machine_busy_seconds(), tree_cpu_seconds(os.getpid()), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.start
        mine = tree_cpu_seconds(os.getpid()) - self.mine
        self.other = max(0.0, (machine_busy_seconds() - self.busy - mine) / self.wall)
        self.cores = mine / self.wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model path (default: the random original-size model that "
                        "`make bench` writes, else the bilm-tf fixture)")
    parser.add_argument("--corpus", default=os.path.join(REPOSITORY, "..", "shared", "bench", "corpus.txt"))
    parser.add_argument("--sentences", type=int, default=2000, help="first N lines of the corpus (default 2000)")
    parser.add_argument("--batch-size", type=int, default=64)
    # One partition per slot: BENCHMARKS.md measured 0.92x the plain binding so, against 0.72x with
    # 8 small partitions (short calls, small batches, uneven split over the slots).
    parser.add_argument("--partitions", type=int, default=None,
                        help="Spark partitions (default: one per slot, --slots)")
    parser.add_argument("--slots", type=int, default=2, help="Spark task slots: local[N] (default 2)")
    args = parser.parse_args()
    if args.partitions is None:
        args.partitions = args.slots
    model_path = args.model or (RANDOM_MODEL if os.path.isfile(RANDOM_MODEL) else FIXTURE)
    if args.model is None and model_path == FIXTURE:
        print("note: no random original-size model (run `make bench` once to write it): using the small bilm-tf "
              "fixture, whose per-row work is tiny, so this measures the engine's overhead, not ELMo's speed")
    with open(args.corpus, encoding="utf-8") as f:
        texts = [line.strip() for _, line in zip(range(args.sentences), f)]
    tokens = sum(len(t.split()) for t in texts)

    import elmo
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores); Python {platform.python_version()}; libelmo "
          f"{elmo.library_version()} at {elmo.library_path()}")
    print(f"model: {model_path}\ncorpus: {len(texts)} sentences, {tokens} tokens of {args.corpus}")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average before: {os.getloadavg()[0]:.2f} "
          "(a shared machine: see \"other load\" below)\n")

    # 1. The plain Python binding.
    with Measured() as load:
        model = elmo.Model(model_path, threads=args.slots)
    with Measured() as plain:
        reference = []
        for k in range(0, len(texts), args.batch_size):
            reference.extend(model.embed(texts[k:k + args.batch_size], "default"))
    plain_rate = tokens / plain.wall

    # 2. Spark's start-up.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    import elmo.spark
    with Measured() as session_start:
        spark = (SparkSession.builder.master(f"local[{args.slots}]").appName("libelmo-bench-spark")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.task.cpus", "1").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
    schema = "id long, text string"

    def frame(rows, partitions):
        return spark.createDataFrame(spark.sparkContext.parallelize(list(enumerate(rows)), partitions), schema)

    with Measured() as first_job:
        warm = texts[:2 * args.slots]
        elmo.spark.embed_dataframe(frame(warm, args.slots), model=model_path).write.format("noop") \
            .mode("overwrite").save()

    # 3. The corpus through Spark.
    df = frame(texts, args.partitions).cache()
    df.count()  # the input materialised first: the timed job reads it from memory
    out = elmo.spark.embed_dataframe(df, model=model_path, batch_size=args.batch_size)
    with Measured() as job:
        out.write.format("noop").mode("overwrite").save()
    spark_rate = tokens / job.wall

    # 4. Exactness: the first rows again through the same path, collected (a filter on the
    # timed plan would embed every row again: mapInArrow is opaque to the optimiser).
    check = texts[:200]
    rows = elmo.spark.embed_dataframe(frame(check, args.slots), model=model_path).collect()
    exact = all(np.array_equal(np.array(r.embedding, dtype=np.float32), reference[r.id]) for r in rows)
    spark.stop()

    print(f"{'measurement':<48} {'wall s':>8} {'tokens/s':>9} {'tok/CPU-s':>9} {'our cores':>9} {'other load':>10}")
    for name, m, rate in (("model load (plain binding)", load, None),
                          (f"plain binding, threads={args.slots}, batch {args.batch_size}", plain, plain_rate),
                          ("Spark session start (JVM)", session_start, None),
                          (f"Spark first job: {args.slots} workers start + load", first_job, None),
                          (f"Spark local[{args.slots}], {args.partitions} partitions, batch {args.batch_size}",
                           job, spark_rate)):
        shown = f"{rate:9.0f} {rate / max(m.cores, 1e-9):9.0f}" if rate else f"{'':9} {'':9}"
        print(f"{name:<48} {m.wall:8.2f} {shown} {m.cores:9.2f} {m.other:10.2f}")
    per_cpu = (spark_rate / job.cores) / (plain_rate / plain.cores)
    print(f"\nSpark / plain binding: {spark_rate / plain_rate:.2f}x in tokens/s (target >= 0.9x), {per_cpu:.2f}x in "
          "tokens per CPU-second of our processes (JVM and Python workers included; the steadier figure when "
          "other load took cores)")
    print(f"first {len(rows)} Spark rows bit-identical to the plain binding: {exact}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if not exact:
        sys.exit(1)


if __name__ == "__main__":
    main()
