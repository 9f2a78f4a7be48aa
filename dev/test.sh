#!/usr/bin/env bash
# Runs every test: the Python SDK's pytest suite, then the Rust workspace.
#
# Installs the Python packages the end-to-end tests use as real peers (pyiceberg and DuckDB as
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
