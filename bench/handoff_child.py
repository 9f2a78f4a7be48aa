"""The child side of the handoff benchmark: how long until a function holds the parent's table.

Usage: handoff_child.py MODE TARGET RUNS RUNNER_DIR
  MODE   mmap    TARGET is an Arrow IPC file in shared memory, read the way bayou's runner does
         parquet TARGET is a Parquet file on local disk
         socket  TARGET is HOST:PORT of a server that streams the table as Arrow IPC
Prints one JSON line: the median seconds over RUNS reads and the rows read.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def read(mode: str, target: str) -> Any:
    if mode == "mmap":
        import bayou_runner

        return bayou_runner.read_input(target)
    if mode == "parquet":
        return pq.read_table(target)
    host, port = target.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as conn, conn.makefile("rb") as stream:
        return pa.ipc.open_stream(stream).read_all()


def main() -> None:
    mode, target, runs, runner_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, runner_dir)
    times, rows = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        table = read(mode, target)
        times.append(time.perf_counter() - start)
        rows = table.num_rows
        del table
    print(json.dumps({"mode": mode, "seconds": statistics.median(times), "rows": rows}))


if __name__ == "__main__":
    main()
