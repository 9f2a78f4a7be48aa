"""(d) Per-function platform overhead: sandbox, interpreter, runner, mapping inputs, returning
the output; the user's code excluded (bayou times each phase of every invocation).

bayou runs a chain of N tiny Python models (each reads the previous one's output), each started
warm (cloned from its environment's zygote, the default) and then each in a new interpreter
(`BAYOU_WARM_STARTS=off`), sandboxed either way; the peer is the floor any new Python function
process pays on this machine, a bare `python -c "import pyarrow"` in the same environment,
without sandbox or bayou. The reference system reports about 300 ms.

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
        subprocess.run(run, check=True, capture_output=True, env=env)  # builds the env, starts its zygote
        measured = {}
        for mode, extra in (("warm", {}), ("cold", {"BAYOU_WARM_STARTS": "off"})):
            out = subprocess.run(run, check=True, capture_output=True, env=dict(env, **extra))
            if mode == "warm" and b"no warm start" in out.stderr:
                raise SystemExit("no warm start:\n" + out.stderr.decode())
            record = json.loads(out.stdout)
            measured[mode] = (
                [node["overhead_ms"] for node in record["nodes"]],
                {
                    phase: statistics.median(node["phases_ms"][phase] for node in record["nodes"])
                    for phase in ("start", "import", "map_inputs", "write_output", "exit", "read_back")
                },
            )
        python = next((Path(work) / "cache" / "envs").glob("*/bin/python"))
        floor = []
        for _ in range(n):
            start = time.perf_counter()
            subprocess.run([str(python), "-c", "import pyarrow"], check=True)
            floor.append((time.perf_counter() - start) * 1000)

    peer = 'bare python -c "import pyarrow"'
    for p in (50, 95):
        f = percentile(floor, p)
        for mode, (ours, _) in measured.items():
            o = percentile(ours, p)
            name = f"function overhead p{p}, {mode} ({n} calls)"
            print(
                f"{name:<44} bayou {o:>10.1f} ms    | {peer:<36} {f:>10.1f} ms    | "
                f"{f / o:.2f}x the floor's speed; vs the reference's ~300 ms: {300 / o:.1f}x better"
            )
            print("JSON " + json.dumps({"bench": f"function overhead p{p} {mode}", "bayou": o, "peer": "bare python + pyarrow", "peer_value": f, "unit": "ms", "reference": 300}))
    for mode, (_, phases) in measured.items():
        print(f"    median per phase, {mode} (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
