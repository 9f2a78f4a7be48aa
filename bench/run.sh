#!/usr/bin/env bash
# Runs bayou's benchmarks; every figure is printed next to its peer's from the same run.
#
#   BENCH_ROWS   taxi rows for the query benchmark (default 10,000,000)
#   BENCH_RUNS   repetitions per query, best taken (default 3)
#   BENCH_ONLY   the sections to run (default: "catalog appends queries tpch runtime scans pipeline scale server workers client overwrite crash gc")
#   BENCH_SCALE_ROWS  the sizes of the scale section (default "1000000 10000000 50000000");
#                BENCH_SCALE_DIR keeps its lakes between runs
#   BENCH_TPCH_SF  TPC-H scale factor (default 1); BENCH_TPCH_DIR keeps its generated files
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${BENCH_ROWS:-10000000}"
runs="${BENCH_RUNS:-3}"
only="${BENCH_ONLY:-catalog appends queries tpch runtime scans pipeline scale server workers client overwrite crash gc}"
want() { [[ " $only " == *" $1 "* ]]; }

cargo build --release --quiet -p bayou-cli -p bayou-bench
target="${CARGO_TARGET_DIR:-$PWD/target}/release"
venv="${BAYOU_VENV:-$PWD/.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r dev/requirements-test.txt -r bench/requirements-bench.txt
py="$venv/bin/python"
export BAYOU_UV="${BAYOU_UV:-$venv/bin/uv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if want catalog; then
  echo "== catalog"
  "$target/bayou-bench" commits 2000 | grep -v '^JSON'
  "$target/bayou-bench" tables 10000 | grep -v '^JSON'
fi

if want appends; then
  echo "== table appends (full Iceberg commits: Parquet + manifest + metadata + catalog)"
  "$py" bench/appends_peer.py "$target/bayou" "$work/appends" 100
fi

lake="$work/lake"
start=$(date +%s.%N)
"$target/bayou" --lake "$lake" demo load --rows "$rows" >/dev/null
echo "demo load of $rows rows: $(echo "$(date +%s.%N) - $start" | bc) s"

if want runtime; then
  echo "== function runtime at $rows taxi rows"
  "$target/bayou-bench" handoff "$lake" "$py" . "$runs" | grep -v '^JSON'
  "$py" bench/sharing.py "$target/bayou" "$lake" "$py" | grep -v '^JSON'
  "$target/bayou-bench" envs "$py" pandas 2.2.3 | grep -v '^JSON'
  "$py" bench/overhead.py "$target/bayou" "$lake" 50 | grep -v '^JSON'
fi

if want scans; then
  echo "== scan cache on a local S3 server"
  PATH="$venv/bin:$PATH" "$py" bench/s3_scans.py "$target/bayou" "$rows" | grep -v '^JSON'
fi

if want queries; then
  echo "== queries at $rows taxi rows (same Parquet data files for both engines)"
  locations=()
  for table in taxi_fhvhv taxi_zones; do
    loc=$("$target/bayou" --lake "$lake" -O json table get "$table" | "$py" -c 'import json,sys; m=json.load(sys.stdin)["metadata_location"]; print(m.rsplit("/metadata/",1)[0])')
    locations+=("$table=$loc")
  done
  "$target/bayou-bench" queries "$lake" bench/queries "$runs" > "$work/ours.jsonl"
  "$py" bench/duckdb_peer.py "$lake" bench/queries "$runs" "${locations[@]}" > "$work/peer.jsonl"
  "$py" bench/compare.py "$work/ours.jsonl" "$work/peer.jsonl" "$rows"
fi

if want tpch; then
  echo "== TPC-H at SF${BENCH_TPCH_SF:-1}: 22 queries, bayou vs DuckDB on the same Parquet files, answers checked row by row"
  PATH="$venv/bin:$PATH" "$py" bench/tpch.py "$target/bayou" "$target/bayou-bench" "${BENCH_TPCH_SF:-1}" "$runs" "$work" | grep -v '^JSON'
fi

if want pipeline; then
  echo "== the example pipeline at $rows taxi rows vs dbt-duckdb (same Parquet files, warm, best of $runs)"
  dbt_venv="${BENCH_DBT_VENV:-$PWD/.venv-dbt}"
  [ -x "$dbt_venv/bin/dbt" ] || { python3 -m venv "$dbt_venv" && "$dbt_venv/bin/python" -m pip install --quiet -r bench/requirements-dbt.txt; }
  bash bench/pipeline_peer.sh "$target/bayou" "$lake" "$dbt_venv" "$runs" "$rows"
fi

if want scale; then
  echo "== scale: the example pipeline and the handoff at ${BENCH_SCALE_ROWS:-1000000 10000000 50000000} rows (best of $runs)"
  dbt_venv="${BENCH_DBT_VENV:-$PWD/.venv-dbt}"
  [ -x "$dbt_venv/bin/dbt" ] || { python3 -m venv "$dbt_venv" && "$dbt_venv/bin/python" -m pip install --quiet -r bench/requirements-dbt.txt; }
  # shellcheck disable=SC2086 # the sizes are words
  "$py" bench/scale.py "$target/bayou" "$target/bayou-bench" "$py" "$dbt_venv" \
    "${BENCH_SCALE_DIR:-$work/scale}" "$runs" ${BENCH_SCALE_ROWS:-1000000 10000000 50000000} | grep -v '^JSON'
fi

if want server; then
  echo "== server mode: what --remote adds to a command (same lake, same binary, median of $((runs * 3)))"
  "$py" bench/remote.py "$target/bayou" "$lake" "$((runs * 3))" | grep -v '^JSON'
fi

if want workers; then
  echo "== the example pipeline at $rows rows on a server alone, with one worker, with two (one machine: the cost of workers; best of $runs)"
  (cd bench && "$py" workers_pipeline.py "$target/bayou" "$lake" "$runs") | grep -v '^JSON'
  echo "== TPC-H at SF${BENCH_TPCH_SF:-1} on a server alone vs spread over two workers (datafusion-distributed; best of $runs)"
  PATH="$venv/bin:$PATH" "$py" bench/tpch_distributed.py "$target/bayou" "${BENCH_TPCH_SF:-1}" "$runs" "${BENCH_TPCH_DIR:-$work}" | grep -v '^JSON'
  echo "== moving the $rows-row taxi intermediate between two hosts (network namespaces): Flight vs raw IPC over TCP"
  if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
    bash bench/flight.sh "$target/bayou-bench" "$lake" "$runs"
  else
    echo "(skipped: needs root and iproute2 for network namespaces)"
  fi
fi

if want overwrite; then
  echo "== OVERWRITE_PARTITIONS of one day vs a full rewrite, taxi rows partitioned by day"
  "$py" bench/overwrite.py "$target/bayou" "$lake" | grep -v '^JSON'
fi

if want crash; then
  echo "== kill -9 at random moments of the example pipeline at 1,000,000 rows, then gc"
  (cd bench && "$py" crash.py "$target/bayou" 1000000 "${BENCH_CRASH_RUNS:-100}" "${BENCH_CRASH_SERVER_RUNS:-30}") | grep -v '^JSON'
fi

if want gc; then
  echo "== gc after ${BENCH_GC_RUNS:-200} runs and ${BENCH_GC_FAILED:-50} failed writes at 1,000,000 rows"
  (cd bench && "$py" gc.py "$target/bayou" 1000000 "${BENCH_GC_RUNS:-200}" "${BENCH_GC_FAILED:-50}") | grep -v '^JSON'
fi

if want client; then
  echo "== Python Client.query of $rows rows x 3 columns vs DuckDB into Arrow in process (best of $runs)"
  loc=$("$target/bayou" --lake "$lake" -O json table get taxi_fhvhv | "$py" -c 'import json,sys; m=json.load(sys.stdin)["metadata_location"]; print(m.rsplit("/metadata/",1)[0])')
  PYTHONPATH=python/bayou/src "$py" bench/client_query.py "$target/bayou" "$lake" "$runs" "$loc" | grep -v '^JSON'
  echo "== a query over Flight SQL (ADBC, Arrow) vs bayou query -O json (text), one server (best of $runs)"
  "$py" bench/adbc_query.py "$target/bayou" "$lake" "$runs" | grep -v '^JSON'
  echo "== pyiceberg appends through the Iceberg REST catalog vs pyiceberg's SqlCatalog"
  "$py" bench/pyiceberg_commits.py "$target/bayou" 50 | grep -v '^JSON'
fi
