"""Scale: the example pipeline and the handoff at growing sizes, each next to its peer.

For each size: the pipeline (`bayou run --no-cache`, best of RUNS) against the same models and
test in dbt-duckdb on the same Parquet files, and the handoff of the whole taxi table to a child
(`bayou-bench handoff`: mapped from shared memory) against a Parquet file on disk. The last
columns divide each time by the rows in millions, so linear growth reads as a flat column.

Usage: python bench/scale.py BAYOU BAYOU_BENCH PYTHON DBT_VENV WORK RUNS ROWS...
Lakes are kept in WORK/lake-ROWS and reused by later runs.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def best(runs: int, cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Best wall seconds of `runs` runs of `cmd`, after one warm-up run."""
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return min(times)


def lake_for(bayou: str, work: Path, rows: int) -> Path:
    """A lake with `rows` demo taxi rows, loaded once."""
    lake = work / f"lake-{rows}"
    done = lake / ".loaded"
    if not done.exists():
        shutil.rmtree(lake, ignore_errors=True)
        cmd = [bayou, "--lake", str(lake), "demo", "load", "--rows", str(rows)]
        subprocess.run(cmd, check=True, capture_output=True)
        done.write_text(str(rows))
    return lake


def data_files(bayou: str, lake: Path, table: str) -> list[str]:
    out = subprocess.run(
        [bayou, "--lake", str(lake), "-O", "json", "table", "get", table],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    location = json.loads(out)["metadata_location"].rsplit("/metadata/", 1)[0]
    return sorted(glob.glob(location.removeprefix("file://") + "/data/*.parquet"))


def dbt_seconds(bayou: str, lake: Path, dbt_venv: Path, runs: int) -> float:
    files = {t: data_files(bayou, lake, t) for t in ("taxi_fhvhv", "taxi_zones")}
    variables = json.dumps({"taxi_files": files["taxi_fhvhv"], "zones_files": files["taxi_zones"]})
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(HERE / "dbt_taxi", project)
        env = {**os.environ, "DBT_DUCKDB_PATH": str(Path(tmp) / "taxi.duckdb")}
        cmd = [str(dbt_venv / "bin" / "dbt"), "build", "--project-dir", str(project)]
        cmd += ["--profiles-dir", str(project), "--vars", variables]
        return best(runs, cmd, env)


def handoff(bench: str, lake: Path, python: str, runs: int) -> tuple[float, float, float]:
    """(seconds to map from shared memory, seconds to read Parquet, gigabytes handed over)."""
    cmd = [bench, "handoff", str(lake), python, str(HERE.parent), str(runs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("JSON ") and "Parquet" in line:
            figure = json.loads(line[5:])
            gigabytes = float(figure["bench"].split("(")[1].split(" GB")[0])
            return figure["bayou"], figure["peer_value"], gigabytes
    raise SystemExit(f"no handoff figure in:\n{out}")


def main() -> None:
    bayou, bench, python, dbt_venv, work, runs, *sizes = sys.argv[1:]
    work_dir = Path(work)
    work_dir.mkdir(parents=True, exist_ok=True)
    project = str(HERE.parent / "examples" / "taxi_pipeline")
    print(
        f"{'rows':>11} | {'bayou run':>9} {'dbt-duckdb':>10} {'ratio':>6} | "
        f"{'handoff':>8} {'Parquet':>8} {'GB':>5} | per 1M rows: {'run':>6} {'dbt':>6} {'handoff':>8}"
    )
    for size in sizes:
        rows = int(size)
        lake = lake_for(bayou, work_dir, rows)
        ours = best(int(runs), [bayou, "--lake", str(lake), "run", "--no-cache", "-p", project])
        theirs = dbt_seconds(bayou, lake, Path(dbt_venv), int(runs))
        mapped, parquet, gigabytes = handoff(bench, lake, python, int(runs))
        m = rows / 1e6
        print(
            f"{rows:>11,} | {ours:>8.2f}s {theirs:>9.2f}s {theirs / ours:>5.2f}x | "
            f"{mapped:>7.3f}s {parquet:>7.2f}s {gigabytes:>5.2f} | "
            f"{'':>13}{ours / m:>6.3f} {theirs / m:>6.3f} {mapped / m:>8.4f}",
            flush=True,
        )
        print("JSON " + json.dumps({
            "bench": "scale", "rows": rows, "bayou_run": ours, "dbt": theirs,
            "handoff": mapped, "handoff_parquet": parquet, "gigabytes": gigabytes,
        }))


if __name__ == "__main__":
    main()
