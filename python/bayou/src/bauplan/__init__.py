"""`import bauplan` for scripts written for bauplan's SDK: the same objects as `bayou`
(`bauplan.Client()`, the model decorators, `bauplan.exceptions`)."""

from typing import Any

import bayou
from bayou import Model, Parameter, expectation, model, python, resources, standard_expectations

# `Client` is not listed: `from bayou import *` runs in function environments, which do not
# have the client's dependencies; `bayou.Client` loads it on first use.
__all__ = [
    "Model",
    "Parameter",
    "expectation",
    "model",
    "python",
    "resources",
    "standard_expectations",
]


def __getattr__(name: str) -> Any:
    return getattr(bayou, name)
