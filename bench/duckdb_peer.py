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

import duckdb


def main() -> None:
    query_dir, runs = sys.argv[2], int(sys.argv[3])
    con = duckdb.connect()
    for spec in sys.argv[4:]:
        name, location = spec.split("=", 1)
        path = location.removeprefix("file://")
        files = sorted(glob.glob(os.path.join(path, "data", "*.parquet")))
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files!r})")
    for sql_file in sorted(glob.glob(os.path.join(query_dir, "*.sql"))):
        sql = open(sql_file).read()
        best, rows = float("inf"), 0
        for _ in range(runs):
            start = time.perf_counter()
            rows = len(con.execute(sql).fetchall())
            best = min(best, time.perf_counter() - start)
        name = os.path.splitext(os.path.basename(sql_file))[0]
        print("JSON " + json.dumps({"query": name, "seconds": best, "rows": rows}))


if __name__ == "__main__":
    main()
