"""(d) Per-function platform overhead: sandbox, interpreter, runner, mapping inputs, returning
the output; the user's code excluded (bayou times each phase of every invocation).

bayou runs a chain of N tiny Python models (each reads the previous one's output); the peer is
the floor any Python function pays on this machine, a bare `python -c "import pyarrow"` in the
same environment, without sandbox or bayou. The reference system reports about 300 ms.

Usage: overhead.py BAYOU LAKE N
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

MODEL = """
import bayou
@bayou.model()
def m{i}(d=bayou.Model('{parent}'{columns})):
    return d
"""


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    bayou, lake, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with tempfile.TemporaryDirectory() as work:
        project = Path(work) / "project"
        project.mkdir()
        (project / "bayou_project.yml").write_text("project:\n  name: overhead\n")
        for i in range(n):
            parent, columns = ("taxi_zones", ", columns=['LocationID', 'Zone']") if i == 0 else (f"m{i - 1}", "")
            (project / f"m{i}.py").write_text(MODEL.format(i=i, parent=parent, columns=columns))
        env = dict(os.environ, BAYOU_CACHE_DIR=str(Path(work) / "cache"))
        run = [bayou, "--lake", lake, "-O", "json", "run", "-p", str(project), "--dry-run", "--no-cache"]
        subprocess.run(run, check=True, capture_output=True, env=env)  # builds the environment
        record = json.loads(subprocess.run(run, check=True, capture_output=True, env=env).stdout)
        ours = [node["overhead_ms"] for node in record["nodes"]]
        phases = {
            phase: statistics.median(node["phases_ms"][phase] for node in record["nodes"])
            for phase in ("start", "import", "map_inputs", "write_output", "exit", "read_back")
        }
        python = next((Path(work) / "cache" / "envs").glob("*/bin/python"))
        floor = []
        for _ in range(n):
            start = time.perf_counter()
            subprocess.run([str(python), "-c", "import pyarrow"], check=True)
            floor.append((time.perf_counter() - start) * 1000)

    for p in (50, 95):
        o, f = percentile(ours, p), percentile(floor, p)
        name, peer = f"function overhead p{p} ({n} invocations)", 'bare python -c "import pyarrow"'
        print(
            f"{name:<44} bayou {o:>10.1f} ms    | {peer:<36} {f:>10.1f} ms    | "
            f"bayou is {f / o:.2f}x the floor; vs the reference's ~300 ms: {300 / o:.1f}x better"
        )
        print("JSON " + json.dumps({"bench": f"function overhead p{p}", "bayou": o, "peer": "bare python + pyarrow", "peer_value": f, "unit": "ms", "reference": 300}))
    print("    median per phase (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
