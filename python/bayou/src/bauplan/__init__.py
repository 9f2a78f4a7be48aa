"""`import bauplan` for scripts written for bauplan's SDK: the same objects as `bayou`
(`bauplan.Client()`, the model decorators, `bauplan.exceptions`)."""

from typing import Any

import bayou
from bayou import Model, Parameter, expectation, model, python, resources, standard_expectations

__all__ = [
    "Client",
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
