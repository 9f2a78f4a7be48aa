"""Running a project from Python: its files, the run's spec, and the state a run ends in.

The client sends the project directory's candidate files (`.py`, `.sql`, `.yml`, `.yaml`, not
hidden, not caches or virtualenvs); the server's project loader picks the project's own files
among them, exactly as `bayou run` does, and stores that snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Union

from . import exceptions as exc

# Directories never part of a project, and the most a project may send.
_SKIPPED_DIRS = {"__pycache__", "venv", "node_modules", "target"}
_SUFFIXES = {".py", ".sql", ".yml", ".yaml"}
_MAX_PROJECT_BYTES = 32 * 1024 * 1024

# bauplan's job statuses for bayou's run statuses.
_STATUS = {"succeeded": "SUCCESS", "failed": "FAILED", "running": "RUNNING", "crashed": "FAILED"}


@dataclass(frozen=True)
class RunState:
    """How a run ended (or, detached, that it runs): bauplan's `job_id` and `job_status`."""

    job_id: Optional[str]
    job_status: str
    error: Optional[str] = None
    user_logs: tuple[str, ...] = ()
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobContext:
    """What a job ran: its record and the code snapshot (files by path)."""

    id: str
    code_hash: str
    files: Mapping[str, str]
    record: Mapping[str, Any]


def project_files(project_dir: Union[str, Path]) -> list[tuple[str, str]]:
    """The candidate files of a project, by relative path (`/`-separated), sorted."""
    root = Path(project_dir)
    if not root.is_dir():
        raise exc.InvalidArgumentError(f"'{project_dir}' is not a project directory")
    found: list[tuple[str, str]] = []
    total = 0
    for path in sorted(_walk(root)):
        text = path.read_text(encoding="utf-8", errors="replace")
        total += len(text)
        if total > _MAX_PROJECT_BYTES:
            raise exc.InvalidArgumentError(
                f"the project at {project_dir} holds over {_MAX_PROJECT_BYTES >> 20} MiB of code files"
            )
        found.append((path.relative_to(root).as_posix(), text))
    return found


def _walk(directory: Path) -> Iterator[Path]:
    for entry in directory.iterdir():
        if entry.name.startswith(".") or entry.name in _SKIPPED_DIRS:
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.is_file() and entry.suffix in _SUFFIXES:
            yield entry


def _switch(value: Union[bool, str, None], default: bool) -> bool:
    """bauplan's on/off options, given as "on"/"off" or a bool."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("on", "true", "yes", "1")
    return bool(value)


def _param(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def spec(
    branch: str,
    namespace: Optional[str],
    parameters: Optional[Mapping[str, Any]],
    dry_run: bool,
    strict: Union[bool, str, None],
    cache: Union[bool, str, None],
    transaction: Union[bool, str, None],
    preview: Union[bool, str, None],
    args: Optional[Mapping[str, str]],
) -> bytes:
    """The run's spec as the server reads it (`RunSpec`)."""
    preview_mode = preview if isinstance(preview, str) and preview in ("head", "tail") else "off"
    return json.dumps(
        {
            "branch": branch,
            "namespace": namespace,
            "dry_run": bool(dry_run),
            "strict": _switch(strict, False),
            "params": [[k, _param(v)] for k, v in (parameters or {}).items()],
            "preview": preview_mode,
            "transaction": _switch(transaction, True),
            "args": dict(args or {}),
            "jobs": None,
            "no_cache": not _switch(cache, True),
            "select": [],
        }
    ).encode()


def follow(updates: Iterable[Any]) -> RunState:
    """The state a run's stream of updates ends in; log lines are kept as `node | line`."""
    logs: list[str] = []
    job_id: Optional[str] = None
    for message in updates:
        update = json.loads(message.update_json)
        if update["update"] == "event":
            event = update["event"]
            if event["event"] == "started":
                job_id = event["run_id"]
            elif event["event"] == "log":
                logs.append(f"{event['node']} | {event['line']}")
        elif update["update"] == "detached":
            return RunState(job_id=update["run_id"], job_status="RUNNING", user_logs=tuple(logs))
        elif update["update"] == "finished":
            record = update["record"]
            return RunState(
                job_id=record.get("id", job_id),
                job_status=_STATUS.get(record.get("status", ""), "FAILED"),
                error=record.get("error"),
                user_logs=tuple(logs),
                record=record,
            )
    raise exc.UnavailableError("the server stopped answering before the run ended")
