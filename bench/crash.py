"""kill -9 at random moments: runs of the example pipeline killed mid-flight (the CLI on an
embedded lake, then the server), each followed by what a user would look at: no run stays
"running", the target moved only by a whole publication, `bayou lake check` finds nothing
wrong. Then `bayou gc` on what the killed runs left behind: bytes before and after, time.

Usage: crash.py BAYOU_BINARY ROWS EMBEDDED_RUNS SERVER_RUNS
Prints one line per figure and a JSON line (`JSON {...}`) with all of them.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _server import Served, serve

PROJECT = str(Path(__file__).resolve().parent.parent / "examples" / "taxi_pipeline")


class Lake:
    def __init__(self, binary: str, home: Path) -> None:
        self.binary = binary
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BAYOU_")}
        self.env.update(HOME=str(home), BAYOU_LAKE=str(home / "lake"), BAYOU_AUTHOR="bench")
        self.lake = home / "lake"

    def json(self, *args: str, remote: Served | None = None) -> Any:
        env = dict(self.env)
        if remote:
            env.update(BAYOU_REMOTE=remote.url, BAYOU_API_KEY=remote.key)
        done = subprocess.run([self.binary, "-O", "json", *args], env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            sys.exit(f"bayou {args}: {done.stderr}")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def head(self) -> str:
        return next(b["head"] for b in self.json("branch", "ls") if b["name"] == "main")

    def run(self, remote: Served | None = None) -> subprocess.Popen:
        env = dict(self.env)
        if remote:
            env.update(BAYOU_REMOTE=remote.url, BAYOU_API_KEY=remote.key)
        return subprocess.Popen(
            [self.binary, "run", "-p", PROJECT, "--no-cache"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def tables_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.lake / "tables").rglob("*") if p.is_file())

    def collect(self) -> dict[str, Any]:
        """`bayou gc --older-than 0s --keep-runs-days 0`, then `lake check`: bytes of `tables/`
        before and after, seconds, gc's report and the problems found after it."""
        before = self.tables_bytes()
        started = time.monotonic()
        gc = self.json("gc", "--older-than", "0s", "--keep-runs-days", "0")
        seconds = time.monotonic() - started
        after = self.tables_bytes()
        check = self.json("lake", "check")
        return dict(before=before, after=after, seconds=seconds, gc=gc, problems=len(check["problems"]))


def judge(lake: Lake, before: str, tally: dict[str, int], remote: Served | None = None) -> None:
    """What a user looks at after a kill: the runs, main, and the lake's check."""
    runs = lake.json("job", "ls", "--limit", "1000", remote=remote)
    tally["stuck_running"] += sum(r["status"] == "running" for r in runs)
    tally["crashed"] += runs[0]["status"] == "crashed"
    after = lake.head()
    if after != before:
        whole = runs[0]["status"] == "succeeded" and runs[0]["published"] == after
        tally["published_whole" if whole else "partial_publishes"] += 1
    check = lake.json("lake", "check")
    tally["check_problems"] += len(check["problems"])


def kill_runs(lake: Lake, count: int, window: float, server_mode: bool) -> dict[str, int]:
    tally = dict(runs=count, crashed=0, published_whole=0, partial_publishes=0, stuck_running=0, check_problems=0)
    for _ in range(count):
        before = lake.head()
        served = serve(lake.binary, str(lake.lake), lake.env) if server_mode else None
        client = lake.run(remote=served)
        # A random moment within a run's length: a benchmark's dice, not synchronisation.
        time.sleep(random.uniform(0.0, window))
        if served:
            served.proc.kill()
            served.proc.wait()
        client.kill()
        client.wait()
        looking = serve(lake.binary, str(lake.lake), lake.env) if server_mode else None
        judge(lake, before, tally, remote=looking)
        if looking:
            looking.stop()
    return tally


def main() -> None:
    binary, rows, embedded_runs, server_runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    random.seed(7)
    with tempfile.TemporaryDirectory() as home:
        lake = Lake(binary, Path(home))
        lake.json("demo", "load", "--rows", rows)
        # The first run builds the environments; the second, warm, sets the window kills fall in.
        for _ in range(2):
            started = time.monotonic()
            subprocess.run([binary, "run", "-p", PROJECT, "--no-cache"], env=lake.env, check=True, capture_output=True)
        window = (time.monotonic() - started) * 1.2
        embedded = kill_runs(lake, embedded_runs, window, server_mode=False)
        server = kill_runs(lake, server_runs, window, server_mode=True)
        for mode, t in [("embedded", embedded), ("server", server)]:
            print(
                f"kill -9 of {t['runs']} runs ({mode:8})   partial publishes {t['partial_publishes']} | "
                f"stuck running {t['stuck_running']} | lake check problems {t['check_problems']} | "
                f"crashed {t['crashed']}, published whole {t['published_whole']}"
            )
        c = lake.collect()
        gc = c["gc"]
        print(
            f"gc after {embedded_runs + server_runs + 2} runs   tables/ {c['before'] / 1e6:.1f} MB -> {c['after'] / 1e6:.1f} MB "
            f"({len(gc['files'])} files, {len(gc['run_branches'])} run branches) in {c['seconds']:.2f} s | "
            f"missing after: {c['problems']}"
        )
        print("JSON " + json.dumps({"embedded": embedded, "server": server, "gc": {
            "bytes_before": c["before"], "bytes_after": c["after"], "seconds": c["seconds"],
            "files": len(gc["files"]), "run_branches": len(gc["run_branches"]),
            "problems_after": c["problems"],
        }}))


if __name__ == "__main__":
    main()
