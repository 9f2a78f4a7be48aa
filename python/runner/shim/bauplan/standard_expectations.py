"""`bauplan.standard_expectations` inside bayou function environments."""

from bayou.standard_expectations import *  # noqa: F401,F403
