"""The example pipeline on a server alone, then with one worker, then with two (one machine).

The same `bayou run --no-cache` goes through one `bayou server` on 127.0.0.1 each time: first
with no worker attached (its Python nodes run in the server's process), then with one `bayou
worker`, then with two. On one machine workers add work (each Python input crosses a Flight
stream, each model's output comes back) and no cores, so this measures the overhead of going
through workers, not a speed-up.

Usage: workers_pipeline.py BAYOU LAKE RUNS
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _server import serve
from scale import best as best_of

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "taxi_pipeline")


def best(cmd: list[str], env: dict[str, str], runs: int) -> float:
    """Best wall time in seconds of `runs` runs, after one warm-up run."""
    return best_of(runs, cmd, env)


def start_worker(bayou: str, url: str, key: str, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [bayou, "-O", "json", "worker", "--server", url, "--key", key, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())  # where it serves
    json.loads(proc.stdout.readline())  # attached
    return proc


def main() -> None:
    bayou, lake, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    served = serve(bayou, lake)
    workers: list[subprocess.Popen] = []
    try:
        made = subprocess.run(
            [bayou, "--lake", lake, "-O", "json", "server", "key", "create", "--worker", "bench-w"],
            check=True, capture_output=True, env=served.env,
        )
        worker_key = json.loads(made.stdout)["key"]
        run = [bayou, "--remote", served.url, "--api-key", served.key, "run", "--no-cache", "-p", EXAMPLE]
        alone = best(run, served.env, runs)
        workers.append(start_worker(bayou, served.url, worker_key, served.env))
        one = best(run, served.env, runs)
        workers.append(start_worker(bayou, served.url, worker_key, served.env))
        two = best(run, served.env, runs)
    finally:
        for w in workers:
            w.terminate()
            w.wait()
        served.stop()
    print(f"example pipeline, server alone (Python in its process): {alone:.3f} s")
    print(f"example pipeline, one worker:  {one:.3f} s ({one / alone:.2f}x the server alone)")
    print(f"example pipeline, two workers: {two:.3f} s ({two / alone:.2f}x the server alone, {two / one:.2f}x one worker)")
    print("JSON " + json.dumps({"alone_s": alone, "one_worker_s": one, "two_workers_s": two}))


if __name__ == "__main__":
    main()
