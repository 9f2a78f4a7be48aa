#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), starting from its committed
# corpus (fuzz/corpus/TARGET, small seeds). Inputs that reach new code go to a scratch corpus
# that is thrown away. Prints the executions per target; a crash or panic stops the run and
# libFuzzer saves its input under fuzz/artifacts/TARGET to reproduce it
# (`cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...`).
#   Needs a nightly toolchain and cargo-fuzz: rustup toolchain install nightly;
#   cargo install cargo-fuzz
#   dev/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
for target in $(cargo +nightly fuzz list); do
  scratch="$(mktemp -d)"
  log="$scratch/log"
  if ! cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 >"$log" 2>&1; then
    tail -40 "$log"
    echo "$target: FAILED (input saved under fuzz/artifacts/$target)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "$target: $runs executions in ${seconds} s, no crash"
  rm -rf "$scratch"
done
