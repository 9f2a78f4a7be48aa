#!/usr/bin/env bash
# The README's demo: builds bayou and walks through a lake end to end on a local directory.
#
#   load data -> tag -> branch -> import on the branch and on main -> query -> merge -> query at
#   tags -> run the example pipeline (SQL + Python models, an expectation) -> query its output
#
# Rows of demo data: first argument (default 1,000,000). The lake is .bayou/quickstart-lake,
# made fresh on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"

cargo build --release --quiet -p bayou-cli
bayou="${CARGO_TARGET_DIR:-$PWD/target}/release/bayou"
# Python models run sandboxed by bubblewrap, and bayou refuses to run them without it. Install
# it when we can; where we cannot, this demo (and only it) runs them unsandboxed, and says so.
# (uv, which builds their environments, bayou finds on PATH or fetches itself.)
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null || true
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
    (sudo apt-get update -qq && sudo apt-get install -y -qq bubblewrap) >/dev/null || true
  fi
  if ! command -v bwrap >/dev/null; then
    echo "note: bubblewrap is not installed (sudo apt-get install bubblewrap); this demo runs its Python models unsandboxed" >&2
    export BAYOU_SANDBOX=off
  fi
fi
export BAYOU_LAKE="$PWD/.bayou/quickstart-lake"
rm -rf "$BAYOU_LAKE" .bayou/quickstart-extra

step() { printf '\n\033[1m$ bayou %s\033[0m\n' "$*"; "$bayou" "$@"; }

step demo load --rows "$rows"
step table ls
step tag create v0
step branch create feat_1
"$bayou" demo write --rows 100000 --out .bayou/quickstart-extra >/dev/null
step table import taxi_fhvhv --search-uri .bayou/quickstart-extra/taxi_fhvhv -b feat_1
step query "SELECT COUNT(*) AS trips FROM taxi_fhvhv" -r feat_1
step query "SELECT COUNT(*) AS trips FROM taxi_fhvhv" -r main
# Meanwhile main gets new rows too: the merge below combines both sides' appends.
step table import taxi_fhvhv --search-uri .bayou/quickstart-extra/taxi_fhvhv -b main
step query "SELECT z.Borough, COUNT(*) AS trips, ROUND(AVG(t.trip_miles), 2) AS avg_miles
            FROM taxi_fhvhv t JOIN taxi_zones z ON t.PULocationID = z.LocationID
            WHERE t.pickup_datetime >= TIMESTAMP '2023-01-15 00:00:00'
            GROUP BY z.Borough ORDER BY trips DESC" -r feat_1
step branch merge feat_1 --into main
step tag create v1
step query "SELECT COUNT(*) AS trips FROM taxi_fhvhv" -r v0
step query "SELECT COUNT(*) AS trips FROM taxi_fhvhv" -r v1
step log --limit 5

# The pipeline of examples/taxi_pipeline: trips.sql -> an expectation on trips -> pickups.sql ->
# a Python model. It runs on a fresh run branch and is merged into main only if all passed.
step run -p examples/taxi_pipeline -r main
step query "SELECT * FROM top_pickup_zones"
step query "SELECT pickup_zone, dropoff_zone, trips, avg_miles FROM pickups ORDER BY trips DESC" --max-rows 5
# Nothing changed: every model's output is reused from the cache and nothing is written.
step run -p examples/taxi_pipeline -r main
step runs ls
