"""Ingest anchor for `quiver-bench ingest`: milvus-lite through pymilvus MilvusClient.

Same row shape as quiver-bench (Int64 primary key `id`, Int64 `category`, VarChar(64) `label`,
128-d float vector `vec`; seeded numpy data, uniform in [-1, 1)), the same method (per batch
size and writer count, `--repeats` runs, each into a fresh collection, writers sharing the
batches round-robin, the clock around the whole run, rows built before it starts) and the same
report line, with `anchor=milvus-lite`:

  python bench/milvus_lite_ingest.py --db-dir DIR [--batch-sizes 1,100,5000,10000]
         [--writers 1] [--rows-per-run N] [--repeats 3] [--wal-sync close|batch]

Rows are handed to `MilvusClient.insert` as a list of dicts with the vector as a Python list,
as `shared/bench/e2e_milvus.py` does; pymilvus's conversion to protobuf is inside the clock
(it is part of ingesting through pymilvus), building the dicts is not. Batch 1 through pymilvus
is one gRPC round trip per row, so its default row count is small.

Durability: milvus-lite 3.2.2 runs in-process (pure Python behind a local gRPC server) and its
write-ahead log defaults to sync_mode="close": an insert is acknowledged without an fsync.
`--wal-sync batch` switches its log to its own "batch" mode (fsync after every write), which
is what quiver-bench does; that line says `anchor=milvus-lite-fsync`. pymilvus offers no
setting for it, so the default of the log's constructor is replaced before the first
collection is opened.
"""
import argparse
import os
import shutil
import statistics
import threading
import time

import numpy as np
from pymilvus import DataType, MilvusClient

DIM = 128
CATEGORIES = 1000


def rows(seed, first_id, n):
    """The rows with ids first_id .. first_id + n; depends only on the seed and first_id."""
    rng = np.random.default_rng([seed, first_id])
    vectors = rng.uniform(-1.0, 1.0, (n, DIM)).astype(np.float32)
    categories = rng.integers(0, CATEGORIES, n)
    return [
        {
            "id": first_id + i,
            "category": int(categories[i]),
            "label": f"label-{categories[i]}-{first_id + i}",
            "vec": vectors[i].tolist(),
        }
        for i in range(n)
    ]


def default_rows(batch, writers):
    """A few seconds per run on the 2-core development machine."""
    if batch == 1:
        return 1_000 if writers == 1 else 2_000
    if batch < 1000:
        return 20_000
    # Enough batches for every one of 8 writers to have one at 10,000 rows.
    return 60_000 if writers == 1 else 80_000


def use_wal_sync_mode(mode):
    """Makes every milvus-lite WAL opened from now on use `mode` (see the module docstring)."""
    from milvus_lite.storage import wal as lite_wal

    original = lite_wal.WAL.__init__

    def init(self, *args, **kwargs):
        kwargs["sync_mode"] = mode
        original(self, *args, **kwargs)

    lite_wal.WAL.__init__ = init


def percentile(values, p):
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(np.ceil(p / 100 * len(ordered)))))
    return ordered[rank - 1]


def create(client, name):
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT64)
    schema.add_field("label", DataType.VARCHAR, max_length=64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, schema=schema)


def run_once(client, name, batch, writers, n_batches, seed):
    """One timed run; returns (seconds, per-call milliseconds, rows acknowledged)."""
    create(client, name)
    work = [
        [rows(seed, i * batch, batch) for i in range(w, n_batches, writers)] for w in range(writers)
    ]
    ready = threading.Barrier(writers + 1)
    call_ms = [[] for _ in range(writers)]
    inserted = [0] * writers
    errors = []

    def write_all(w):
        ready.wait()
        try:
            for data in work[w]:
                start = time.perf_counter()
                result = client.insert(name, data)
                call_ms[w].append((time.perf_counter() - start) * 1e3)
                inserted[w] += result["insert_count"]
        except Exception as err:  # reported after the run
            errors.append(err)

    threads = [threading.Thread(target=write_all, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    client.drop_collection(name)
    return seconds, [ms for per in call_ms for ms in per], sum(inserted)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db-dir", required=True, help="scratch directory (removed afterwards)")
    ap.add_argument("--batch-sizes", default="1,100,5000,10000")
    ap.add_argument("--writers", default="1")
    ap.add_argument("--rows-per-run", type=int)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--wal-sync", choices=("close", "batch"), default="close",
                    help="milvus-lite's WAL sync mode: close (as shipped) or batch (fsync per write)")
    a = ap.parse_args()
    anchor = "milvus-lite" if a.wal_sync == "close" else "milvus-lite-fsync"
    if a.wal_sync != "close":
        use_wal_sync_mode(a.wal_sync)
    batch_sizes = [int(b) for b in a.batch_sizes.split(",")]
    writer_counts = [int(w) for w in a.writers.split(",")]

    shutil.rmtree(a.db_dir, ignore_errors=True)
    os.makedirs(a.db_dir)
    import importlib.metadata as md

    print(
        f"# milvus-lite {md.version('milvus-lite')} through pymilvus {md.version('pymilvus')}; "
        f"WAL sync_mode={a.wal_sync}; rows built before the clock; {a.repeats} repeats, median",
        flush=True,
    )
    client = MilvusClient(uri=os.path.join(a.db_dir, "lite.db"))
    try:
        for batch in batch_sizes:
            for writers in writer_counts:
                target = a.rows_per_run or default_rows(batch, writers)
                n_batches = max(1, -(-target // batch))
                n_rows = n_batches * batch
                rates, calls = [], []
                for repeat in range(a.repeats):
                    name = f"bench_b{batch}_w{writers}_r{repeat}"
                    seconds, call_ms, inserted = run_once(
                        client, name, batch, writers, n_batches, a.seed
                    )
                    if inserted != n_rows:
                        raise SystemExit(f"{inserted} rows acknowledged of {n_rows}")
                    rates.append(n_rows / seconds)
                    calls.extend(call_ms)
                median = statistics.median(rates)
                print(
                    f"ingest batch={batch} writers={writers} rows={n_rows} "
                    f"rows_per_s_median={median:.0f} min={min(rates):.0f} max={max(rates):.0f} "
                    f"run_s_median={n_rows / median:.2f} anchor={anchor} "
                    f"call_ms_p50={percentile(calls, 50):.2f} "
                    f"call_ms_p99={percentile(calls, 99):.2f} call_ms_max={max(calls):.1f}",
                    flush=True,
                )
    finally:
        client.close()
        shutil.rmtree(a.db_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
