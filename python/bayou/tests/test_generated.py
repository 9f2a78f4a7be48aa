"""The committed gRPC code of the Python SDK matches crates/bayou-proto/proto (regenerate with
`dev/gen-python-proto.sh` after editing a .proto)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GENERATED = ("bayou_pb2.py", "bayou_pb2.pyi", "bayou_pb2_grpc.py")


def test_the_committed_python_protos_are_current(tmp_path: Path) -> None:
    env = {**os.environ, "BAYOU_TEST_PYTHON": sys.executable}
    subprocess.run(
        ["bash", str(ROOT / "dev" / "gen-python-proto.sh"), str(tmp_path)], check=True, env=env
    )
    committed = ROOT / "python" / "bayou" / "src" / "bayou" / "v1"
    for name in GENERATED:
        fresh = (tmp_path / "bayou" / "v1" / name).read_text()
        assert fresh == (committed / name).read_text(), (
            f"{name} is stale: run dev/gen-python-proto.sh and commit it"
        )
