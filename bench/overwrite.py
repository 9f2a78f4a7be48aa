"""OVERWRITE_PARTITIONS replacing one day of a table partitioned by day, against rewriting the
whole table (a REPLACE of the same final rows: what replacing one day cost before, when the
kept rows were read and every file written again). Both as `bayou run --no-cache` on a branch
of the bench lake; bytes written are the new snapshot's `added-files-size`, memory the run's
peak RSS (`/usr/bin/time`).

Usage: overwrite.py BAYOU_BINARY LAKE
Prints one line per figure and a JSON line (`JSON {...}`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = "pickup_datetime, PULocationID, DOLocationID, trip_miles"
DAY = ("2023-01-15", "2023-01-16")
BRANCH = "bench_overwrite"


def project(root: Path, name: str, header: str, where: str) -> str:
    path = root / name
    path.mkdir()
    (path / "bayou_project.yml").write_text(f"project:\n  name: {name}\n")
    (path / "trips_by_day.sql").write_text(
        f"{header}\n-- bayou: partitioned_by=\"day(pickup_datetime)\"\n"
        f"SELECT {COLUMNS} FROM taxi_fhvhv {where}\n"
    )
    return str(path)


def run(binary: str, lake: str, path: str) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of `bayou run --no-cache` of project `path`."""
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "maxrss_kb=%M", binary, "--lake", lake, "run", "-p", path, "-r", BRANCH, "--no-cache"],
        capture_output=True, text=True,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"bayou run {path}: {done.stderr}")
    rss = int(re.findall(r"maxrss_kb=(\d+)", done.stderr)[-1]) * 1024
    return seconds, rss


def added_bytes(binary: str, lake: str) -> int:
    """`added-files-size` of the table's current snapshot (pyiceberg reads the metadata)."""
    from pyiceberg.table import StaticTable

    info = subprocess.run(
        [binary, "--lake", lake, "-O", "json", "table", "get", "trips_by_day", "-r", BRANCH],
        capture_output=True, text=True, check=True,
    )
    table = StaticTable.from_metadata(json.loads(info.stdout)["metadata_location"])
    snapshot = table.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    return int(snapshot.summary.additional_properties.get("added-files-size", 0))


def main() -> None:
    binary, lake = sys.argv[1], sys.argv[2]
    subprocess.run([binary, "--lake", lake, "branch", "rm", BRANCH], capture_output=True)
    subprocess.run([binary, "--lake", lake, "branch", "create", BRANCH, "--from-ref", "main"], check=True, capture_output=True)
    day = f"pickup_datetime >= TIMESTAMP '{DAY[0]}' AND pickup_datetime < TIMESTAMP '{DAY[1]}'"
    with tempfile.TemporaryDirectory() as root:
        whole = project(Path(root), "whole", "-- bayou: materialization_strategy=REPLACE", "")
        one_day = project(
            Path(root), "one_day",
            f"-- bayou: materialization_strategy=OVERWRITE_PARTITIONS\n-- bayou: overwrite_filter=\"{day}\"",
            f"WHERE {day}",
        )
        run(binary, lake, whole)  # the table, all days
        ours_s, ours_rss = run(binary, lake, one_day)
        ours_bytes = added_bytes(binary, lake)
        peer_s, peer_rss = run(binary, lake, whole)
        peer_bytes = added_bytes(binary, lake)
    subprocess.run([binary, "--lake", lake, "branch", "rm", BRANCH], capture_output=True)
    mb = 1e6
    print(
        f"replace one day of a day-partitioned table   OVERWRITE_PARTITIONS {ours_bytes / mb:7.1f} MB written, "
        f"peak {ours_rss / mb:6.0f} MB, {ours_s:5.2f} s | full rewrite {peer_bytes / mb:7.1f} MB, "
        f"peak {peer_rss / mb:6.0f} MB, {peer_s:5.2f} s | {peer_bytes / max(ours_bytes, 1):.0f}x fewer bytes"
    )
    print("JSON " + json.dumps({
        "ours": {"bytes": ours_bytes, "peak_rss": ours_rss, "seconds": ours_s},
        "full_rewrite": {"bytes": peer_bytes, "peak_rss": peer_rss, "seconds": peer_s},
    }))


if __name__ == "__main__":
    main()
