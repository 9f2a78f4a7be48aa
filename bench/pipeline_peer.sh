#!/usr/bin/env bash
# The pipeline benchmark: bayou's example pipeline vs the same models and test in dbt-duckdb,
# on the same Parquet data files. Usage: pipeline_peer.sh BAYOU LAKE DBT_VENV RUNS ROWS
set -euo pipefail
bayou="$1" lake="$2" dbt_venv="$3" runs="$4" rows="$5"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

files() { # the data files of a lake table, as a DuckDB list literal
  "$bayou" --lake "$lake" -O json table get "$1" | python3 -c '
import glob, json, sys
loc = json.load(sys.stdin)["metadata_location"].rsplit("/metadata/", 1)[0].removeprefix("file://")
print(repr(sorted(glob.glob(loc + "/data/*.parquet"))))'
}
vars="{taxi_files: \"$(files taxi_fhvhv)\", zones_files: \"$(files taxi_zones)\"}"

best() { # best wall time of $runs runs of a command, after one warm-up run
  "$@" >/dev/null 2>&1
  python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
best = float("inf")
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    best = min(best, time.perf_counter() - t)
print(f"{best:.3f}")
PY
}

ours=$(best "$bayou" --lake "$lake" run -p "$here/../examples/taxi_pipeline")
export DBT_DUCKDB_PATH="$work/taxi.duckdb"
cp -r "$here/dbt_taxi" "$work/project"
theirs=$(best "$dbt_venv/bin/dbt" build --project-dir "$work/project" --profiles-dir "$work/project" --vars "$vars")
python3 -c "
ours, theirs = $ours, $theirs
r = theirs / ours
print(f'pipeline (trips -> expectation -> pickups -> top zones) at $rows rows: bayou run {ours:.2f} s | dbt build (dbt-duckdb) {theirs:.2f} s | bayou is {r:.2f}x {\"faster\" if r >= 1 else \"slower\"}')"
