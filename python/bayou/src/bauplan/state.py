"""`bauplan.state` for scripts written for bauplan's SDK: the states bayou's Client answers."""

from bayou._runs import RunState
from bayou._states import TableCreatePlanApplyState, TableCreatePlanState, TableDataImportState

__all__ = ["RunState", "TableCreatePlanApplyState", "TableCreatePlanState", "TableDataImportState"]
