"""Appends per second to one table on one branch: bayou vs pyiceberg, same data, same disk.

Usage: appends_peer.py BAYOU_BINARY WORK_DIR N

bayou runs `bayou table import` once per append (a whole process each time: start-up, catalog
open, Parquet write, manifest, manifest list, metadata file, catalog commit). pyiceberg appends
the same 100 rows in-process through its SQLite SqlCatalog, which writes the same kinds of files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.csv as pacsv


def main() -> None:
    bayou, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(work, exist_ok=True)
    batch = pa.table({"id": pa.array(range(100), pa.int64()), "name": pa.array([f"n{i}" for i in range(100)])})
    csv = os.path.join(work, "rows.csv")
    pacsv.write_csv(batch, csv)

    lake = os.path.join(work, "lake")
    env = dict(os.environ, BAYOU_LAKE=lake)
    subprocess.run([bayou, "table", "create", "t", "--search-uri", csv], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run([bayou, "table", "import", "t", "--search-uri", csv], env=env, check=True, capture_output=True)
    ours = n / (time.perf_counter() - start)

    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = os.path.join(work, "pyiceberg")
    os.makedirs(warehouse, exist_ok=True)
    catalog = SqlCatalog("bench", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
    catalog.create_namespace("bench")
    table = catalog.create_table("bench.t", schema=batch.schema)
    table.append(batch)
    start = time.perf_counter()
    for _ in range(n):
        table.append(batch)
    peer = n / (time.perf_counter() - start)
    ratio = ours / peer
    print(
        f"{'appends/s to one table (100 rows each)':<44} bayou {ours:>8.1f} /s (CLI process each) | "
        f"pyiceberg SqlCatalog {peer:>8.1f} /s (in-process) | bayou is {ratio:.2f}x {'better' if ratio >= 1 else 'worse'}"
    )


if __name__ == "__main__":
    main()
