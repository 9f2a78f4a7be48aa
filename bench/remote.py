"""Server mode against embedded: what going through `bayou server` adds to a command.

The same `bayou` binary runs each command twice per round, once on the lake in its own process
(embedded) and once with --remote against a server on 127.0.0.1 serving that lake (same catalog
file, same caches), so the difference is the wire and the server. Goal: under 20 ms a command.

Usage: remote.py BAYOU LAKE RUNS
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import serve

# The paper pipeline's question as one query: trips between zone pairs, with distances.
PIPELINE_SQL = """
SELECT pz.Zone AS pickup_zone, dz.Zone AS dropoff_zone, COUNT(*) AS trips,
       ROUND(AVG(t.trip_miles), 2) AS avg_miles
FROM taxi_fhvhv t
JOIN taxi_zones pz ON t.PULocationID = pz.LocationID
JOIN taxi_zones dz ON t.DOLocationID = dz.LocationID
WHERE t.pickup_datetime >= TIMESTAMP '2023-01-01 00:00:00'
GROUP BY pz.Zone, dz.Zone
ORDER BY trips DESC
LIMIT 10
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return (time.perf_counter() - start) * 1000


def first_line_ms(cmd: list[str], env: dict[str, str]) -> float:
    """Milliseconds until the command's first line on stderr (a run's first event)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    proc.stderr.readline()
    elapsed = (time.perf_counter() - start) * 1000
    proc.stderr.read()
    if proc.wait() != 0:
        raise SystemExit(f"{cmd} failed")
    return elapsed


def commits_per_second(
    bayou: str, work: Path, embedded: dict[str, str], remote: dict[str, str], n: int
) -> tuple[str, float, float]:
    """`n` imports of a small CSV file in a row, each one commit: commits per second."""
    csv = work / "rows.csv"
    csv.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(100)))
    subprocess.run(
        [bayou, "table", "create", "bench_commits", "--search-uri", str(csv), "--replace"],
        check=True, capture_output=True, env=embedded,
    )
    rates = []
    for env in (remote, embedded):
        cmd = [bayou, "table", "import", "bench_commits", "--search-uri", str(csv),
               "--import-duplicate-files"]
        start = time.perf_counter()
        for _ in range(n):
            subprocess.run(cmd, check=True, capture_output=True, env=env)
        rates.append(n / (time.perf_counter() - start))
    return ("commits/s (table import, one after another)", rates[0], rates[1])


def upload(
    bayou: str, work: Path, embedded: dict[str, str], remote: dict[str, str]
) -> tuple[str, float, float]:
    """`table create` of the demo's Parquet files: the remote one sends them first."""
    data = work / "demo"
    subprocess.run(
        [bayou, "demo", "write", "--rows", "2000000", "--out", str(data)],
        check=True, capture_output=True, env=embedded,
    )
    uri = str(data / "taxi_fhvhv")
    times = []
    for env in (remote, embedded):
        times.append(timed(
            [bayou, "table", "create", "bench_upload", "--search-uri", uri, "--replace"], env
        ))
    return ("table create of 2M rows of local Parquet", times[0], times[1])


def main() -> None:
    bayou, lake, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    base = {k: v for k, v in os.environ.items() if k not in ("BAYOU_REMOTE", "BAYOU_API_KEY")}
    embedded = dict(base, BAYOU_LAKE=lake)
    served = serve(bayou, lake, embedded)
    url, key = served.url, served.key
    remote = dict(base, BAYOU_REMOTE=url, BAYOU_API_KEY=key)
    try:
        with tempfile.TemporaryDirectory() as work:
            project = Path(work) / "noop"
            project.mkdir()
            (project / "bayou_project.yml").write_text("project:\n  name: noop\n")
            (project / "zones.sql").write_text(
                "-- bayou: materialization_strategy=REPLACE\nSELECT LocationID, Borough FROM taxi_zones\n"
            )
            run = [bayou, "run", "-p", str(project), "-r", "main"]
            subprocess.run(run, check=True, capture_output=True, env=embedded)  # now all cached
            cases = [
                ("a tiny command (branch ls)", [bayou, "branch", "ls"]),
                ("query: the paper pipeline's SQL", [bayou, "query", PIPELINE_SQL]),
                ("a no-op run (every node cached)", run),
            ]
            results = []
            for name, cmd in cases:
                ours, peer = [], []
                for _ in range(runs):
                    peer.append(timed(cmd, embedded))
                    ours.append(timed(cmd, remote))
                results.append((name, statistics.median(ours), statistics.median(peer)))
            ours, peer = [], []
            for _ in range(runs):
                peer.append(first_line_ms(run, embedded))
                ours.append(first_line_ms(run, remote))
            results.append(("time to a run's first log line", statistics.median(ours), statistics.median(peer)))
            ours, peer = [], []
            for i in range(runs):
                peer.append(timed([bayou, "branch", "create", f"e{i}"], embedded))
                ours.append(timed([bayou, "branch", "create", f"r{i}"], remote))
            results.append(("a catalog write (branch create)", statistics.median(ours), statistics.median(peer)))
            results.append(commits_per_second(bayou, Path(work), embedded, remote, runs * 4))
            results.append(upload(bayou, Path(work), embedded, remote))
    finally:
        served.stop()
    for name, ours, peer in results:
        if name.startswith("commits/s"):
            print(f"{name:<44} remote {ours:8.1f}/s  | embedded {peer:8.1f}/s  | ratio {ours / peer:5.2f}")
            print("JSON " + json.dumps({"bench": name, "remote_per_s": ours, "embedded_per_s": peer}))
            continue
        print(
            f"{name:<44} remote {ours:8.1f} ms | embedded {peer:8.1f} ms | the wire adds {ours - peer:+7.1f} ms"
        )
        print("JSON " + json.dumps({"bench": name, "remote_ms": ours, "embedded_ms": peer, "added_ms": ours - peer}))


if __name__ == "__main__":
    main()
