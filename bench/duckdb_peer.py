"""The DuckDB side of the query benchmark: the same SQL over the same Parquet data files.

Usage: duckdb_peer.py LAKE_DIR QUERY_DIR RUNS TABLE_LOCATION...

Each TABLE_LOCATION is `name=file:///.../table-dir`; DuckDB reads that table's data files with
read_parquet. Prints one JSON line per query: best-of-RUNS wall time, rows.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from typing import Any

import duckdb


def add_view(con: duckdb.DuckDBPyConnection, name: str, files: list[str]) -> None:
    """Makes `name` a view over these Parquet files."""
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files!r})")


def timed(con: duckdb.DuckDBPyConnection, sql: str, runs: int) -> tuple[float, list[tuple[Any, ...]]]:
    """The best wall time of `runs` runs of `sql`, and its answer."""
    best, answer = float("inf"), []
    for _ in range(runs):
        start = time.perf_counter()
        answer = con.execute(sql).fetchall()
        best = min(best, time.perf_counter() - start)
    return best, answer


def main() -> None:
    query_dir, runs = sys.argv[2], int(sys.argv[3])
    con = duckdb.connect()
    for spec in sys.argv[4:]:
        name, location = spec.split("=", 1)
        path = location.removeprefix("file://")
        add_view(con, name, sorted(glob.glob(os.path.join(path, "data", "*.parquet"))))
    for sql_file in sorted(glob.glob(os.path.join(query_dir, "*.sql"))):
        seconds, answer = timed(con, open(sql_file).read(), runs)
        name = os.path.splitext(os.path.basename(sql_file))[0]
        print("JSON " + json.dumps({"query": name, "seconds": seconds, "rows": len(answer)}))


if __name__ == "__main__":
    main()
