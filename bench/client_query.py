"""bayou.Client.query of ROWS x 3 columns from a server, against DuckDB reading the same Parquet
data files into Arrow in its own process (no server, no wire): what the client's Arrow Flight
path costs next to an in-process engine.

Usage: client_query.py BAYOU LAKE RUNS TABLE_LOCATION
TABLE_LOCATION is `file:///.../taxi_fhvhv-dir` (its data/*.parquet are DuckDB's input).
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

import duckdb
from _server import serve

import bayou

COLUMNS = "PULocationID, DOLocationID, trip_miles"


def best(runs: int, work) -> tuple[float, int]:
    fastest, rows = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        rows = work()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, rows


def main() -> None:
    binary, lake, runs, location = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    server = serve(binary, lake)
    url, key = server.url, server.key
    try:
        client = bayou.Client(remote=url, api_key=key)
        ours, rows = best(runs, lambda: client.query(f"SELECT {COLUMNS} FROM taxi_fhvhv", ref="main").num_rows)
        files = sorted(glob.glob(os.path.join(location.removeprefix("file://"), "data", "*.parquet")))
        con = duckdb.connect()
        sql = f"SELECT {COLUMNS} FROM read_parquet({files!r})"
        peer, peer_rows = best(runs, lambda: con.execute(sql).to_arrow_table().num_rows)
        assert rows == peer_rows, (rows, peer_rows)
    finally:
        server.stop()
    print(
        f"Client.query of {rows} rows x 3 columns   bayou (server + Flight) {ours * 1000:8.1f} ms | "
        f"DuckDB in process {peer * 1000:8.1f} ms | ratio {ours / peer:5.2f}"
    )
    print("JSON " + json.dumps({"bench": "client_query", "rows": rows, "bayou_s": ours, "duckdb_s": peer}))


if __name__ == "__main__":
    main()
