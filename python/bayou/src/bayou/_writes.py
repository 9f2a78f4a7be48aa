"""Tables made of files, from Python: `s3://` objects are named and the server reads them;
local files (a path, a directory or a glob of .parquet/.csv) are sent with the call, as the
bayou CLI sends them."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from . import exceptions as exc
from .v1 import bayou_pb2 as pb

_CHUNK = 1024 * 1024
_FORMATS = (".parquet", ".pq", ".csv")


def local_files(search_uri: str) -> list[Path]:
    """The files a local `search_uri` names: one file, a directory's files, or a glob's."""
    path = Path(search_uri.removeprefix("file://"))
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _FORMATS]
    elif any(c in search_uri for c in "*?["):
        files = [Path(p) for p in glob.glob(str(path)) if Path(p).is_file()]
    elif path.is_file():
        files = [path]
    else:
        raise exc.InvalidArgumentError(f"cannot read {search_uri}: no such file or directory")
    if not files:
        raise exc.InvalidArgumentError(f"'{search_uri}' matches no .parquet or .csv file")
    return sorted(files)


def inputs(
    start: Mapping[str, Any], search_uri: str, files: list[Path]
) -> Iterator[pb.WriteTableInput]:
    """A `WriteTable` call's messages: its start, then the bytes of `files` in order."""
    sent = [pb.SentFile(origin=str(f.resolve()), size=f.stat().st_size) for f in files]
    yield pb.WriteTableInput(
        start=pb.WriteTableStart(search_uri=search_uri, files=sent, **start)
    )
    for f, listed in zip(files, sent):
        left = listed.size
        with f.open("rb") as reader:
            while left > 0:
                chunk = reader.read(min(_CHUNK, left))
                if not chunk:
                    raise exc.InvalidArgumentError(f"{f} became shorter while it was sent")
                left -= len(chunk)
                yield pb.WriteTableInput(chunk=chunk)


def answer(outputs: Iterator[pb.WriteTableOutput]) -> pb.WriteTableOutput:
    """The outcome at the end of a `WriteTable` call's progress."""
    for output in outputs:
        if output.WhichOneof("part") in ("written", "imported", "planned"):
            return output
    raise exc.UnavailableError("the server stopped answering before the table was written")


def qualified(table: str, namespace: Optional[str]) -> str:
    return f"{namespace}.{table}" if namespace and "." not in table else table


def plan_to_wire(plan: Mapping[str, Any]) -> pb.TablePlan:
    """A table plan (as `plan_table_creation` returns it, or its YAML read back) for the wire."""
    try:
        return pb.TablePlan(
            table=plan["table"],
            search_uri=plan["search_uri"],
            branch=plan.get("branch"),
            partitioned_by=plan.get("partitioned_by"),
            replace=bool(plan.get("replace", False)),
            columns=[
                pb.PlannedColumn(name=c["name"], type=c["type"], in_files=c.get("in_files", []))
                for c in plan["columns"]
            ],
            conflicts=[
                pb.Conflict(column=c["column"], types=c.get("types", []), resolve=c.get("resolve", ""))
                for c in plan.get("conflicts", [])
            ],
        )
    except (KeyError, TypeError) as e:
        raise exc.InvalidArgumentError(f"not a table plan: missing or bad {e}") from None


def plan_of_wire(plan: pb.TablePlan) -> dict[str, Any]:
    return {
        "table": plan.table,
        "search_uri": plan.search_uri,
        "branch": plan.branch if plan.HasField("branch") else None,
        "partitioned_by": plan.partitioned_by if plan.HasField("partitioned_by") else None,
        "replace": plan.replace,
        "columns": [
            {"name": c.name, "type": c.type, "in_files": list(c.in_files)} for c in plan.columns
        ],
        "conflicts": [
            {"column": c.column, "types": list(c.types), "resolve": c.resolve}
            for c in plan.conflicts
        ],
    }
