#!/usr/bin/env bash
# Runs every test: the Python SDK's pytest suite, the Rust workspace, then the web UI's.
#
# Installs bubblewrap and PostgreSQL when missing, starts one PostgreSQL server for the run,
# installs the Python packages the end-to-end tests use as real peers (pyiceberg and DuckDB as
# Iceberg readers, SeaweedFS as an S3 server) into a virtualenv, then runs cargo nextest (or
# cargo test when nextest is not installed).
set -euo pipefail
cd "$(dirname "$0")/.."

# Python functions run under bubblewrap; the sandbox tests need it.
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null
  else
    echo "error: bubblewrap (bwrap) is missing: install it, e.g. sudo apt-get install bubblewrap" >&2
    exit 1
  fi
fi

# Workers on separate hosts are tested in network namespaces (iproute2's `ip`).
if ! command -v ip >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq iproute2) >/dev/null
  else
    echo "error: iproute2 (ip) is missing: install it, e.g. sudo apt-get install iproute2" >&2
    exit 1
  fi
fi

# The catalog runs on PostgreSQL in server mode; its tests start a real server.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # The tests make their own clusters: skip the one the package would create and start
    # (postgresql-common first, then its setting, then the server, as PostgreSQL's own images do).
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq postgresql-common) >/dev/null
    sed -ri 's/#?\s*(create_main_cluster)\s*=.*$/\1 = false/' /etc/postgresql-common/createcluster.conf
    apt-get install -y -qq postgresql >/dev/null
  else
    echo "error: PostgreSQL (initdb, pg_ctl) is missing: install it, e.g. sudo apt-get install postgresql" >&2
    exit 1
  fi
fi
# One PostgreSQL server for the whole run; each test makes a fresh database in it
# (crates/bayou-testkit). As root it runs as the `postgres` user: PostgreSQL refuses root.
if [ -z "${BAYOU_TEST_POSTGRES:-}" ]; then
  pg_bin="$(dirname "$(command -v pg_ctl 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
  pg_dir="$(mktemp -d /tmp/bayou-test-pg.XXXXXX)"
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
  fi
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >/dev/null
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-h 127.0.0.1 -p $pg_port -k $pg_dir -F -c max_connections=500" start >/dev/null
  trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
  export BAYOU_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pg_port/postgres"
fi

venv="${BAYOU_VENV:-$PWD/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || {
    echo "error: cannot create a Python virtualenv at $venv" >&2
    echo "  hint: on Debian, apt-get install python3-venv" >&2
    exit 1
  }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r dev/requirements-test.txt
export BAYOU_TEST_PYTHON="$venv/bin/python"
export PATH="$venv/bin:$PATH" # the `weed` S3 server

# The Python SDK's and the in-sandbox runner's own tests.
PYTHONPATH=python/bayou/src:python/runner/shim "$venv/bin/python" -m pytest -q python/bayou/tests python/runner/tests
# The runner again on the oldest pyarrow functions may get (the low end of the runtime's range,
# PYARROW_REQUIREMENT in crates/bayou-runtime/src/env.rs), next to NumPy 1.
oldest="$venv/oldest-pyarrow"
if [ ! -x "$oldest/bin/python" ]; then
  "$venv/bin/uv" venv --quiet --python 3.11 "$oldest"
  "$venv/bin/uv" pip install --quiet --python "$oldest/bin/python" "pyarrow==14.0.0" "numpy<2" "pytest==8.3.4"
fi
PYTHONPATH=python/bayou/src:python/runner/shim "$oldest/bin/python" -m pytest -q python/runner/tests

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi

# The web UI, against the server binary the Rust tests just built.
bash dev/test-ui.sh "${CARGO_TARGET_DIR:-target}/debug/bayou"
