"""TPC-H queries on a server alone, then spread over two workers (datafusion-distributed).

Usage: tpch_distributed.py BAYOU SCALE_FACTOR RUNS WORK_DIR [QUERY ...]   (default q01 q03 q06)

Generates the tables with `tpchgen-cli` in 4 parts each (a task per file), registers them in a
bayou lake in place, and runs each query with `bayou --remote ... query` against one `bayou
server --distribute-above 0`: first with no worker attached (single-node, in the server), then
with two `bayou worker`s on this machine. Answers are compared row by row; a check with the
workers stopped (SIGSTOP) shows the queries really wait on them. On one machine the two workers
share its cores with the server, so the ratio is the cost of distributing, not a speed-up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from _server import serve
from tpch import QUERIES, TABLES, same
from workers_pipeline import start_worker

PARTS = 4


def generate(scale: str, work: str) -> str:
    data = os.path.join(work, f"tpch-sf{scale}-parts{PARTS}")
    if all(os.path.isdir(os.path.join(data, t)) for t in TABLES):
        return data
    tool = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
    subprocess.run(
        [tool if os.path.exists(tool) else "tpchgen-cli", "parquet", "-s", scale, "--parts", str(PARTS),
         "--field-ids", "false", "-o", data],
        check=True,
    )
    return data


def query(bayou: str, url: str, key: str, env: dict[str, str], sql: str) -> tuple[float, list]:
    start = time.perf_counter()
    out = subprocess.run(
        [bayou, "--remote", url, "--api-key", key, "-O", "json", "query", "--max-rows", "1000000", "--", sql],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    return time.perf_counter() - start, json.loads(out)


def best(bayou: str, url: str, key: str, env: dict[str, str], sql: str, runs: int) -> tuple[float, list]:
    query(bayou, url, key, env, sql)  # warm
    times, rows = [], []
    for _ in range(runs):
        t, rows = query(bayou, url, key, env, sql)
        times.append(t)
    return min(times), rows


def rows_match(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.keys() != y.keys() or not all(same(x[k], y[k]) for k in x):
            return False
    return True


def main() -> None:
    bayou, scale, runs, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    names = sys.argv[5:] or ["q01", "q03", "q06"]
    data = generate(scale, work)
    lake = os.path.join(work, "tpch-distributed-lake")
    subprocess.run(["rm", "-rf", lake], check=True)
    for table in TABLES:
        subprocess.run(
            [bayou, "--lake", lake, "table", "create-external", table,
             "--search-pattern", os.path.join(data, table, "*.parquet")],
            check=True, stdout=subprocess.DEVNULL,
        )
    served = serve(bayou, lake, extra=["--distribute-above", "1B"])
    workers: list[subprocess.Popen] = []
    try:
        made = subprocess.run(
            [bayou, "--lake", lake, "-O", "json", "server", "key", "create", "--worker", "tpch-w"],
            check=True, capture_output=True, env=served.env,
        )
        wkey = json.loads(made.stdout)["key"]
        sqls = {n: open(os.path.join(QUERIES, f"{n}.sql")).read() for n in names}
        alone = {n: best(bayou, served.url, served.key, served.env, sql, runs) for n, sql in sqls.items()}
        for _ in range(2):
            workers.append(start_worker(bayou, served.url, wkey, served.env))
        spread = {n: best(bayou, served.url, served.key, served.env, sql, runs) for n, sql in sqls.items()}
        # With the workers stopped, a distributed query waits for them.
        for w in workers:
            w.send_signal(signal.SIGSTOP)
        probe = subprocess.Popen(
            [bayou, "--remote", served.url, "--api-key", served.key, "query", "--", sqls[names[0]]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=served.env,
        )
        try:
            probe.wait(timeout=5)
            waited = False
        except subprocess.TimeoutExpired:
            waited = True
        for w in workers:
            w.send_signal(signal.SIGCONT)
        probe.wait()
    finally:
        for w in workers:
            w.terminate()
            w.wait()
        served.stop()
    print(f"tpch SF{scale} on 2 workers: queries wait on the workers when they are stopped: {'yes' if waited else 'NO (not distributed)'}")
    ratios = []
    for n in names:
        (t1, r1), (t2, r2) = alone[n], spread[n]
        ok = rows_match(r1, r2)
        ratios.append(t2 / t1)
        print(f"tpch {n} SF{scale}   single-node {t1 * 1000:8.1f} ms | 2 workers {t2 * 1000:8.1f} ms | "
              f"{t2 / t1:.2f}x the single-node time, {len(r2)} rows {'match' if ok else 'DIFFER'}")
        if not ok:
            raise SystemExit(f"{n}: the distributed answer differs")
    print("JSON " + json.dumps({"scale": scale, "ratios": dict(zip(names, ratios)), "waited": waited}))


if __name__ == "__main__":
    main()
