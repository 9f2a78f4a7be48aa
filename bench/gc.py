"""`bayou gc` on a lake after many runs and failed writes: the example pipeline run RUNS times
(each publishes new table versions; their history is kept, so gc must keep their files), then
FAILED writes killed with `kill -9` at a random moment of their usual duration: half imports of
a Parquet file, half runs of the pipeline. (A run that fails on its own writes nothing: its
tables are written when every node has passed.) Then `bayou gc` prunes the killed runs'
branches and removes what no ref reaches: bytes of `tables/` before and after, time, and
`bayou lake check` (missing files) after it.

Usage: gc.py BAYOU_BINARY ROWS RUNS FAILED
Prints one line per figure and a JSON line (`JSON {...}`).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crash import PROJECT, Lake

def killed(lake: Lake, args: list[str], seconds: float, rng: random.Random) -> bool:
    """Runs `bayou ARGS` and kills it at a random moment of `seconds`; whether it was killed."""
    child = subprocess.Popen(
        [lake.binary, *args], env=lake.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(rng.uniform(0.05, 0.95) * seconds)
    alive = child.poll() is None
    child.kill()
    child.wait()
    return alive


def timed(lake: Lake, args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run([lake.binary, *args], env=lake.env, check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    binary, rows, runs, failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as home:
        lake = Lake(binary, Path(home))
        subprocess.run([binary, "demo", "load", "--rows", str(rows)], env=lake.env, check=True, capture_output=True)
        data = Path(home) / "data"
        subprocess.run([binary, "demo", "write", "--out", str(data), "--rows", str(rows)], env=lake.env, check=True, capture_output=True)
        parquet = next((data / "taxi_fhvhv").glob("*.parquet"))
        def import_args(i: int) -> list[str]:
            # A file of its own each time: an import skips files the table holds already.
            copy = data / f"copy-{i}.parquet"
            shutil.copyfile(parquet, copy)
            return ["table", "import", "taxi_copy", "--search-uri", str(copy)]

        run_args = ["run", "-p", PROJECT, "--no-cache"]
        timed(lake, ["table", "create", "taxi_copy", "--search-uri", str(parquet)])
        import_s = timed(lake, import_args(-1))
        run_s = min(timed(lake, run_args) for _ in range(runs))
        tally = dict(killed=0, finished_before_the_kill=0)
        for i in range(failed):
            args, seconds = (import_args(i), import_s) if i % 2 == 0 else (run_args, run_s)
            tally["killed" if killed(lake, args, seconds, rng) else "finished_before_the_kill"] += 1
        c = lake.collect()
        gc, before, after, seconds = c["gc"], c["before"], c["after"], c["seconds"]
        print(
            f"gc after {runs} runs and {failed} writes killed at random ({tally['killed']} killed, "
            f"{tally['finished_before_the_kill']} finished first)   "
            f"tables/ {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB ({len(gc['files'])} files, "
            f"{len(gc['run_branches'])} run branches, {len(gc['commits'])} commits) in {seconds:.2f} s | "
            f"kept {gc['reachable']} reachable files | missing after: {c['problems']}"
        )
        print("JSON " + json.dumps({
            **tally, "runs": runs, "bytes_before": before, "bytes_after": after, "seconds": seconds,
            "files": len(gc["files"]), "run_branches": len(gc["run_branches"]),
            "commits": len(gc["commits"]), "reachable": gc["reachable"],
            "problems_after": c["problems"],
        }))


if __name__ == "__main__":
    main()
