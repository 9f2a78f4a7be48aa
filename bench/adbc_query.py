"""A query answered as Arrow over Flight SQL (ADBC's driver) against the same query printed
as JSON by the CLI (`bayou query -O json`), both through one server: the throughput of Arrow
next to text.

Usage: adbc_query.py BAYOU LAKE RUNS
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql
from _server import serve

SQL = "SELECT PULocationID, DOLocationID, trip_miles FROM taxi_fhvhv LIMIT 1000000"


def main() -> None:
    binary, lake, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = serve(binary, lake)
    url, key = server.url, server.key
    remote = dict(server.env, BAYOU_REMOTE=url, BAYOU_API_KEY=key)
    try:
        conn = flight_sql.connect(
            uri=url.replace("http://", "grpc://"),
            db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {key}"},
            autocommit=True,
        )
        ours, peer, rows = float("inf"), float("inf"), 0
        for _ in range(runs):
            start = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(SQL)
                rows = cur.fetch_arrow_table().num_rows
            ours = min(ours, time.perf_counter() - start)
            start = time.perf_counter()
            out = subprocess.run(
                [binary, "-O", "json", "query", SQL, "--all-rows"],
                check=True, capture_output=True, env=remote,
            ).stdout
            peer = min(peer, time.perf_counter() - start)
        assert len(json.loads(out)) == rows
        conn.close()
    finally:
        server.stop()
    print(
        f"{rows} rows x 3 columns   ADBC Flight SQL (Arrow) {ours * 1000:8.1f} ms | "
        f"bayou query -O json {peer * 1000:8.1f} ms | Arrow is {peer / ours:5.1f}x faster"
    )
    print("JSON " + json.dumps({"bench": "adbc_vs_json", "rows": rows, "adbc_s": ours, "json_s": peer}))


if __name__ == "__main__":
    main()
