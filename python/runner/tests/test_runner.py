"""The runner calls a model with memory-mapped inputs and converts what it returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE.parent / "bayou_runner.py"
SDK = HERE.parent.parent / "bayou" / "src"
SHIM = HERE.parent / "shim"

sys.path.insert(0, str(HERE.parent))
import bayou_runner  # noqa: E402


def write_arrow(table: pa.Table, path: Path) -> None:
    bayou_runner.write_output(table, str(path))


def run(tmp: Path, source: str, function: str, kind: str = "model") -> tuple[int, dict, Path]:
    (tmp / "models.py").write_text(source)
    write_arrow(pa.table({"a": [1, 2, 3]}), tmp / "in.arrow")
    request = {
        "project_dir": str(tmp),
        "file": "models.py",
        "function": function,
        "node": function,
        "kind": kind,
        "inputs": {"data": {"path": str(tmp / "in.arrow"), "columns": None}},
        "params": {"k": 10},
        "output": str(tmp / "out.arrow"),
        "result": str(tmp / "result.json"),
    }
    (tmp / "request.json").write_text(json.dumps(request))
    env = dict(os.environ, PYTHONPATH=f"{SDK}{os.pathsep}{SHIM}")
    proc = subprocess.run([sys.executable, str(RUNNER), str(tmp / "request.json")], env=env, capture_output=True, text=True)
    result = json.loads((tmp / "result.json").read_text())
    marks = result.pop("marks")
    assert list(marks) == sorted(marks, key=marks.get), marks  # phases in the order they ran
    return proc.returncode, result, tmp / "out.arrow"


def test_a_model_gets_tables_and_parameters_and_may_return_dicts(tmp_path: Path) -> None:
    src = (
        "import bauplan\n"
        "@bauplan.model()\n"
        "def f(data=bauplan.Model('x'), k=bauplan.Parameter('k')):\n"
        "    return [{'a': v * k} for v in data.column('a').to_pylist()]\n"
    )
    code, result, out = run(tmp_path, src, "f")
    assert code == 0, result
    assert result == {"rows": 3}
    assert bayou_runner.read_input(str(out)).column("a").to_pylist() == [10, 20, 30]


def test_an_unsupported_return_type_names_the_model_and_type(tmp_path: Path) -> None:
    code, result, _ = run(tmp_path, "def f(data=None, k=None):\n    return 42\n", "f")
    assert code == 1
    assert "model 'f' returned builtins.int" in result["error"]


def test_an_expectation_reports_its_verdict(tmp_path: Path) -> None:
    src = (
        "from bauplan.standard_expectations import expect_column_no_nulls\n"
        "def check(data=None, k=None):\n"
        "    return expect_column_no_nulls(data, 'a')\n"
    )
    code, result, _ = run(tmp_path, src, "check", kind="expectation")
    assert code == 0, result
    assert result == {"passed": True}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("return False", "expectation returned false"),
        ("assert data.num_rows > 5, 'too few rows'", "assertion failed: too few rows"),
        ("return 'yes'", "unsupported type str: return True or False"),
    ],
)
def test_a_failed_expectation_says_why(tmp_path: Path, body: str, reason: str) -> None:
    code, result, _ = run(tmp_path, f"def check(data=None, k=None):\n    {body}\n", "check", kind="expectation")
    assert code == 0, result
    assert result == {"passed": False, "reason": reason}


@pytest.mark.parametrize("body", ["raise ValueError('boom')", "import no_such_module"])
def test_exceptions_are_reported(tmp_path: Path, body: str) -> None:
    code, result, _ = run(tmp_path, f"def f(data=None, k=None):\n    {body}\n", "f")
    assert code == 1
    assert "error" in result


def test_inputs_are_mapped_and_columns_selected_without_a_copy(tmp_path: Path) -> None:
    table = pa.table({"a": list(range(100_000)), "b": [1.5] * 100_000, "c": ["x"] * 100_000})
    write_arrow(table, tmp_path / "t.arrow")
    before = pa.total_allocated_bytes()
    mapped = bayou_runner.read_input(str(tmp_path / "t.arrow"), ["c", "a"])
    assert mapped.column_names == ["c", "a"]
    assert mapped.equals(table.select(["c", "a"]))
    # The buffers are the file's pages: nothing was allocated on Arrow's heap for them.
    assert pa.total_allocated_bytes() - before < 4096


def test_inputs_arrive_without_parquet_field_ids_and_keep_time_zones(tmp_path: Path) -> None:
    ids = {b"PARQUET:field_id": b"1"}
    point = pa.struct([pa.field("x", pa.float64(), metadata={b"PARQUET:field_id": b"3"})])
    schema = pa.schema(
        [
            pa.field("at", pa.timestamp("us", tz="UTC"), metadata=ids),
            pa.field("where", point, metadata={b"PARQUET:field_id": b"2", b"comment": b"kept"}),
            pa.field("tags", pa.list_(pa.field("item", pa.string(), metadata={b"PARQUET:field_id": b"4"}))),
        ],
        metadata={b"origin": b"lake"},
    )
    table = pa.table(
        {"at": pa.array([0], pa.timestamp("us", tz="UTC")), "where": [{"x": 1.5}], "tags": [["a"]]},
        schema=schema,
    )
    write_arrow(table, tmp_path / "in.arrow")
    seen = bayou_runner.read_input(str(tmp_path / "in.arrow"))
    for field in [*seen.schema, seen.schema.field("where").type.field(0), seen.schema.field("tags").type.value_field]:
        assert b"PARQUET:field_id" not in (field.metadata or {}), field
    assert seen.schema.field("where").metadata == {b"comment": b"kept"}
    assert seen.schema.metadata == {b"origin": b"lake"}
    assert seen.schema.field("at").type.tz == "UTC"
    assert seen.to_pylist() == table.to_pylist()
