"""`bauplan.exceptions` for scripts written for bauplan's SDK: bayou's error tree."""

from bayou.exceptions import *  # noqa: F401,F403
