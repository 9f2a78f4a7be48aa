#!/usr/bin/env bash
# Regenerates the Python SDK's gRPC code from crates/bayou-proto/proto (committed, like the Rust
# side's): python/bayou/src/bayou/v1/bayou_pb2{,_grpc}.py{,i}. Needs grpcio-tools
# (dev/requirements-test.txt). A pytest test fails when the committed code drifts.
#   dev/gen-python-proto.sh [OUT_DIR]   (default: python/bayou/src)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-python/bayou/src}"
python="${BAYOU_TEST_PYTHON:-python3}"
mkdir -p "$out/bayou/v1"
"$python" -m grpc_tools.protoc -I crates/bayou-proto/proto \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  bayou/v1/bayou.proto
touch "$out/bayou/v1/__init__.py"
