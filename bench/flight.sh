#!/usr/bin/env bash
# Moving a taxi intermediate between two hosts: a worker's Arrow Flight DoGet into the other
# host's exchange file, against the floor of the same Arrow IPC bytes over one plain TCP
# connection, and the paper's figure (bauplan, Flight, 10M rows: 0.96 s).
#
# The hosts are two network namespaces joined by a veth pair, so the bytes cross a real
# network stack. Needs root (ip netns) and a lake with taxi data:
#   bayou --lake L demo load --rows 10000000
#   sudo bash bench/flight.sh target/release/bayou-bench L [RUNS]
set -euo pipefail
bench="$(realpath "${1:?usage: bench/flight.sh BAYOU_BENCH LAKE [RUNS]}")"
lake="${2:?usage: bench/flight.sh BAYOU_BENCH LAKE [RUNS]}"
runs="${3:-3}"

tag="bf$$"
a="${tag}a" b="${tag}b"
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm="${TMPDIR:-/tmp}"
work="$(mktemp -d "$shm/bayou-flight.XXXXXX")"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" addr add 10.232.0.1/24 dev va
ip -n "$b" addr add 10.232.0.2/24 dev vb
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set va up
ip -n "$b" link set vb up

"$bench" exchange-file "$lake" "$work/held.arrow"
ip netns exec "$a" "$bench" serve-output "$work/held.arrow" 10.232.0.1:9100 >"$work/serve.log" 2>&1 &
server=$!
# The server says "ready" once it listens (a condition, checked as its log grows).
for _ in $(seq 600); do
  grep -q '^ready' "$work/serve.log" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.05
done
grep -q '^ready' "$work/serve.log" || { echo "the serving side never got ready" >&2; exit 1; }
ip netns exec "$b" "$bench" pull-output 10.232.0.1:9100 "$work/pulled.arrow" "$runs"
