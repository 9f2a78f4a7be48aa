"""pyiceberg appends through bayou's Iceberg REST catalog (each one a bayou catalog commit on a
branch) against pyiceberg's own SqlCatalog (SQLite) on a local warehouse: commits per second,
the same rows, one writer.

Usage: pyiceberg_commits.py BAYOU N
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.catalog.sql import SqlCatalog

ROWS = pa.table({"id": pa.array(range(100), pa.int64()), "km": pa.array([1.0] * 100)})


def rate(table, n: int) -> float:
    batch = ROWS.cast(table.schema().as_arrow())
    start = time.perf_counter()
    for _ in range(n):
        table.append(batch)
    return n / (time.perf_counter() - start)


def main() -> None:
    binary, n = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as work:
        home = Path(work)
        env = {k: v for k, v in os.environ.items() if k not in ("BAYOU_REMOTE", "BAYOU_API_KEY")}
        env.update(HOME=work, BAYOU_LAKE=str(home / "lake"), BAYOU_AUTHOR="bench")
        csv = home / "t.csv"
        csv.write_text("id,km\n0,1.0\n")
        subprocess.run([binary, "table", "create", "t", "--search-uri", str(csv)], check=True, env=env, capture_output=True)
        made = subprocess.run([binary, "-O", "json", "server", "key", "create", "--user", "bench"], check=True, env=env, capture_output=True)
        key = json.loads(made.stdout)["key"]
        server = subprocess.Popen([binary, "-O", "json", "server", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE)
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["listening"]
        try:
            rest = RestCatalog("bayou", uri=f"{url}/iceberg", token=key, warehouse="main")
            table = rest.load_table("bayou.t")
            schema = table.schema()
            ours = rate(table, n)
        finally:
            server.terminate()
            server.wait()
        warehouse = home / "warehouse"
        warehouse.mkdir()
        sql = SqlCatalog("peer", uri=f"sqlite:///{home}/peer.db", warehouse=f"file://{warehouse}")
        sql.create_namespace("bench")
        peer_table = sql.create_table("bench.t", schema=schema)
        peer = rate(peer_table, n)
    print(
        f"pyiceberg appends, {n} commits   via bayou REST {ours:7.1f}/s | "
        f"pyiceberg SqlCatalog {peer:7.1f}/s | ratio {ours / peer:5.2f}"
    )
    print("JSON " + json.dumps({"bench": "pyiceberg_commits", "bayou_per_s": ours, "sqlcatalog_per_s": peer}))


if __name__ == "__main__":
    main()
