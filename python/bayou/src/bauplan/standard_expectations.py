"""`bauplan.standard_expectations` for scripts written for bauplan's SDK: bayou's."""

from bayou.standard_expectations import *  # noqa: F401,F403
