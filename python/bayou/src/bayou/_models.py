"""What a `Client` returns: small immutable records with the attribute names of bauplan's SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional


@dataclass(frozen=True)
class Ref:
    """A branch or tag and the commit it points at (`hash`)."""

    name: str
    hash: str


@dataclass(frozen=True)
class Branch(Ref):
    pass


@dataclass(frozen=True)
class Tag(Ref):
    pass


@dataclass(frozen=True)
class Namespace:
    name: str


@dataclass(frozen=True)
class Table:
    name: str
    namespace: str

    @property
    def fqn(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class TableField:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class TableSnapshot:
    """One snapshot of a table's history: what it did, when, and the rows then."""

    snapshot_id: int
    parent_id: Optional[int]
    timestamp_ms: int
    operation: str
    added_records: int
    total_records: int


@dataclass(frozen=True)
class TableWithMetadata(Table):
    """A table at a ref: its rows, files, snapshot, partitioning and columns."""

    id: str = ""
    records: int = 0
    files: int = 0
    size: int = 0
    snapshot_id: Optional[int] = None
    metadata_location: str = ""
    partitions: tuple[str, ...] = ()
    fields: tuple[TableField, ...] = ()
    #: The current snapshot and its ancestors, newest first.
    snapshot_history: tuple[TableSnapshot, ...] = ()

    @property
    def snapshots(self) -> int:
        """How many snapshots the table's history has (bauplan's `snapshots`)."""
        return len(self.snapshot_history)

    @property
    def current_snapshot_id(self) -> Optional[int]:
        return self.snapshot_id


@dataclass(frozen=True)
class Commit:
    """One commit of the lake's history."""

    hash: str
    message: str
    author: str
    authored_date: datetime
    parent_hashes: tuple[str, ...]
    properties: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def of_time_ms(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


@dataclass(frozen=True)
class Job:
    """A run (bauplan's job): its id, status and who ran what; `record` holds all of it."""

    id: str
    status: str
    user: str
    kind: str
    project: Optional[str]
    target_branch: str
    error: Optional[str]
    record: Mapping[str, Any]

    @staticmethod
    def of_record(record: Mapping[str, Any]) -> "Job":
        return Job(
            id=str(record.get("id", "")),
            status=str(record.get("status", "")),
            user=str(record.get("user") or ""),
            kind="rerun" if record.get("replay_of") else "run",
            project=record.get("project"),
            target_branch=str(record.get("target_branch", "")),
            error=record.get("error"),
            record=record,
        )


@dataclass(frozen=True)
class User:
    username: str


@dataclass(frozen=True)
class Info:
    """Where a client is: the server, the key's user and their active branch."""

    remote: str
    user: User
    active_branch: str
