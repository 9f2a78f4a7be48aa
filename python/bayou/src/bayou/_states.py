"""What the calls that make tables of files answer, named as bauplan's SDK names them
(`bauplan.state`). A call that fails raises (`bayou.exceptions`); a state answered is a success."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from . import exceptions as exc
from ._models import TableWithMetadata


@dataclass(frozen=True)
class TableCreatePlanState:
    """The plan for a table of files (`plan_table_creation`): `plan` is its text, in the
    format `bayou table create-plan` writes (JSON, which YAML readers read too). Edit a
    conflict's `resolve` (or a column's `type`) and pass it to `apply_table_creation_plan`."""

    plan: str
    can_auto_apply: bool
    job_id: Optional[str] = None
    job_status: str = "SUCCESS"
    error: Optional[str] = None

    def plan_dict(self) -> dict[str, Any]:
        return read_plan(self.plan)


@dataclass(frozen=True)
class TableCreatePlanApplyState:
    """A plan applied: the table it made."""

    table: TableWithMetadata
    job_id: Optional[str] = None
    job_status: str = "SUCCESS"
    error: Optional[str] = None


@dataclass(frozen=True)
class TableDataImportState:
    """What an import did: rows and files written (none when every file was there already),
    its commit, and what it left out."""

    rows_written: int
    files_written: int
    commit: Optional[str]
    notes: tuple[str, ...] = field(default_factory=tuple)
    job_id: Optional[str] = None
    job_status: str = "SUCCESS"
    error: Optional[str] = None


PlanLike = Union[TableCreatePlanState, str, Mapping[str, Any]]


def write_plan(plan: Mapping[str, Any]) -> str:
    return json.dumps(plan, indent=2, ensure_ascii=False)


def read_plan(plan: PlanLike) -> Mapping[str, Any]:
    """A plan as a state, its text (JSON or YAML), or already read."""
    if isinstance(plan, TableCreatePlanState):
        plan = plan.plan
    if not isinstance(plan, str):
        return plan
    try:
        read = json.loads(plan)
    except ValueError:
        read = _yaml(plan)
    if not isinstance(read, dict):
        raise exc.InvalidArgumentError("not a table plan: expected a mapping of table, search_uri and columns")
    return read


def _yaml(text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise exc.InvalidArgumentError(
            "the plan is not JSON, and reading YAML needs PyYAML\n  hint: pip install pyyaml, "
            "or pass the plan as a dict"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise exc.InvalidArgumentError(f"the plan is neither JSON nor YAML: {e}") from None
