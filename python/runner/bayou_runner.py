"""Runs one bayou function in its own process: read inputs, call, write the output, report.

Usage: python bayou_runner.py REQUEST.json

The request names the project file and function, the Arrow IPC file holding each input and the
columns to keep of it (files are memory-mapped and columns selected without a copy, so children
of one parent share its pages), parameter values, and where to write the output table (models)
or the verdict (expectations). On failure the result file says what went wrong and the process
exits non-zero; the traceback goes to stderr, which bayou streams to the user. The result also
carries wall-clock marks of each phase, so bayou can tell the platform's overhead from user code.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from typing import Any, Callable

STARTED = time.time()


def load_function(project_dir: str, file: str, function: str) -> Callable[..., Any]:
    sys.path.insert(0, project_dir)
    module_name = file.rsplit("/", 1)[-1].removesuffix(".py")
    spec = importlib.util.spec_from_file_location(module_name, f"{project_dir}/{file}")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, function)


FIELD_ID = b"PARQUET:field_id"


def _without_ids(field: Any) -> Any:
    """`field` without Parquet field ids, in it or in the fields nested in its type."""
    import pyarrow as pa

    t = field.type
    if pa.types.is_struct(t):
        t = pa.struct([_without_ids(t.field(i)) for i in range(t.num_fields)])
    elif pa.types.is_large_list(t):
        t = pa.large_list(_without_ids(t.value_field))
    elif pa.types.is_fixed_size_list(t):
        t = pa.list_(_without_ids(t.value_field), t.list_size)
    elif pa.types.is_list(t):
        t = pa.list_(_without_ids(t.value_field))
    metadata = {k: v for k, v in (field.metadata or {}).items() if k != FIELD_ID}
    return pa.field(field.name, t, field.nullable, metadata or None)


def without_field_ids(table: Any) -> Any:
    """`table` without the `PARQUET:field_id` metadata a lake scan (or a parent that returned
    one) leaves on its fields: a function sees plain columns. Only the schema changes."""
    import pyarrow as pa

    schema = pa.schema([_without_ids(f) for f in table.schema], metadata=table.schema.metadata)
    if schema.equals(table.schema, check_metadata=True):
        return table
    return table.cast(schema)


def read_input(path: str, columns: list[str] | None = None) -> Any:
    """The table in an Arrow IPC file, mapped rather than read: its buffers are the file's pages."""
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(path, "r")).read_all()
    return without_field_ids(table if columns is None else table.select(columns))


def to_arrow(value: Any, model: str) -> Any:
    """A model's return value as a pyarrow Table, or a TypeError that names the model and type."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    module = type(value).__module__ or ""
    if module.startswith("pandas"):
        return pa.Table.from_pandas(value, preserve_index=False)
    if module.startswith("polars") and hasattr(value, "to_arrow"):
        return value.to_arrow()
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return pa.Table.from_pylist(value)
    if module.startswith("duckdb") and hasattr(value, "arrow"):
        arrow = value.arrow()  # a relation: a Table, or a reader in newer DuckDB
        return arrow.read_all() if isinstance(arrow, pa.RecordBatchReader) else arrow
    raise TypeError(
        f"model '{model}' returned {type(value).__module__}.{type(value).__qualname__}; "
        "return a pyarrow Table, a pandas or polars DataFrame, or a list of dicts"
    )


def write_output(table: Any, path: str) -> None:
    import pyarrow as pa

    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def judge(func: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """An expectation's verdict, as bauplan gives it: True passes; False, a failed `assert`
    (with its message) and a value that is no bool fail with the reason. Any other exception
    is an error of the function, not a verdict, and propagates."""
    try:
        value = func(**kwargs)
    except AssertionError as e:
        return {"passed": False, "reason": f"assertion failed: {e}" if str(e) else "assertion failed"}
    if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):
        return {"passed": False, "reason": f"unsupported type {type(value).__qualname__}: return True or False"}
    if not value:
        return {"passed": False, "reason": "expectation returned false"}
    return {"passed": True}


def run(request: dict[str, Any], marks: dict[str, float]) -> dict[str, Any]:
    import pyarrow  # noqa: F401 - the platform's import, timed apart from the user's module

    marks["imported"] = time.time()
    func = load_function(request["project_dir"], request["file"], request["function"])
    marks["loaded"] = time.time()
    kwargs: dict[str, Any] = {
        arg: read_input(spec["path"], spec.get("columns")) for arg, spec in request["inputs"].items()
    }
    kwargs.update(request.get("params", {}))
    marks["mapped"] = time.time()
    if request["kind"] == "expectation":
        verdict = judge(func, kwargs)
        marks["called"] = time.time()
        return verdict
    value = func(**kwargs)
    marks["called"] = time.time()
    table = to_arrow(value, request["node"])
    write_output(table, request["output"])
    return {"rows": table.num_rows}


def serve(request_path: str, started: float) -> int:
    """Runs the call `request_path` describes and writes its result file; the exit code."""
    with open(request_path) as f:
        request = json.load(f)
    marks = {"started": started}
    try:
        result = run(request, marks)
        code = 0
    except BaseException as e:  # noqa: BLE001 - everything is reported, nothing escapes
        traceback.print_exc()
        result = {"error": f"{type(e).__name__}: {e}"}
        code = 1
    marks["written"] = time.time()
    result["marks"] = marks
    with open(request["result"], "w") as f:
        json.dump(result, f)
    return code


def finish(code: int) -> None:
    """Ends the process once everything is written."""
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown (module and GC finalisation), which costs ~10 ms and can
    # do nothing for the caller.
    os._exit(code)


if __name__ == "__main__":
    finish(serve(sys.argv[1], STARTED))
