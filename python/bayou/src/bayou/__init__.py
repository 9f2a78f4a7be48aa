"""bayou's Python SDK: declare pipeline models as plain functions.

The decorators only describe a function; bayou reads the description statically from the source
(no user code runs while planning) and calls the function later, in its own environment. At
import time they record nothing and return the function unchanged, so a model stays an ordinary,
testable Python function.

    import bayou

    @bayou.model(materialization_strategy="REPLACE")
    @bayou.python("3.11", pip={"pandas": "2.2.3"})
    def pickups(trips=bayou.Model("trips", columns=["PULocationID"], filter="trip_miles > 1")):
        ...
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, TypeVar

from . import standard_expectations

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

F = TypeVar("F", bound=Callable[..., Any])

MATERIALIZATION_STRATEGIES = ("NONE", "REPLACE", "APPEND", "OVERWRITE_PARTITIONS")


class Model:
    """A model input: the table (or upstream model) `name`, optionally narrowed.

    Used as a parameter default: `def f(trips=bayou.Model("trips", columns=["a"]))`.
    """

    def __init__(
        self,
        name: str,
        columns: Optional[Sequence[str]] = None,
        filter: Optional[str] = None,
        ref: Optional[str] = None,
        **_ignored: Any,
    ) -> None:
        self.name = name
        self.columns = list(columns) if columns is not None else None
        self.filter = filter
        self.ref = ref

    def __repr__(self) -> str:
        return f"Model({self.name!r}, columns={self.columns!r}, filter={self.filter!r}, ref={self.ref!r})"


class Parameter:
    """A project parameter, bound at run time: `def f(limit=bayou.Parameter("limit"))`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"


def _check_strategy(strategy: Optional[str]) -> None:
    if strategy is not None and strategy.upper() not in MATERIALIZATION_STRATEGIES:
        raise ValueError(
            f"materialization_strategy must be one of {', '.join(MATERIALIZATION_STRATEGIES)}, not {strategy!r}"
        )


def model(
    name: Optional[str] = None,
    columns: Optional[Sequence[str]] = None,
    partitioned_by: Optional[Any] = None,
    materialization_strategy: Optional[str] = None,
    overwrite_filter: Optional[str] = None,
    cache_strategy: Optional[str] = None,
    internet_access: Optional[bool] = None,
    **_ignored: Any,
) -> Callable[[F], F]:
    """Marks a function as a model. Its output table is named after the function (or `name`)."""
    _check_strategy(materialization_strategy)

    def decorate(func: F) -> F:
        return func

    return decorate


def python(
    version: Optional[str] = None,
    pip: Optional[dict[str, str]] = None,
    **_ignored: Any,
) -> Callable[[F], F]:
    """The Python version and pinned packages a model runs with."""

    def decorate(func: F) -> F:
        return func

    return decorate


def expectation(**_ignored: Any) -> Callable[[F], F]:
    """Marks a function as an expectation: it returns True when its inputs are acceptable."""

    def decorate(func: F) -> F:
        return func

    return decorate


def resources(
    memory: Optional[str] = None,
    cpus: Optional[float] = None,
    timeout: Optional[int] = None,
    **_ignored: Any,
) -> Callable[[F], F]:
    """Resource limits for one function: memory ("512MB", "2GiB"), CPUs and a timeout in seconds."""

    def decorate(func: F) -> F:
        return func

    return decorate


def __getattr__(name: str) -> Any:
    """`bayou.Client` and `bayou.exceptions`, loaded on first use: functions running in their own
    environments import this module without the client's dependencies (grpcio, protobuf)."""
    import importlib

    if name == "Client":
        return importlib.import_module(".client", __name__).Client
    if name == "exceptions":
        return importlib.import_module(".exceptions", __name__)
    raise AttributeError(f"module 'bayou' has no attribute {name!r}")
