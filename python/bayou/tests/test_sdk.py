"""The SDK's decorators leave functions callable; expectations compute on pyarrow tables."""

from __future__ import annotations

import pyarrow as pa
import pytest

import bayou
from bayou import standard_expectations as se


@bayou.model(materialization_strategy="REPLACE", columns=["a"])
@bayou.python("3.11", pip={"pandas": "2.2.3"})
@bayou.resources(memory="512MB", cpus=1, timeout=60)
def double(data: pa.Table = bayou.Model("data", columns=["a"], filter="a > 0")) -> pa.Table:
    import pyarrow.compute as pc

    return data.set_column(0, "a", pc.multiply(data.column("a"), 2))


def test_decorated_functions_stay_plain_callables() -> None:
    out = double(pa.table({"a": [1, 2]}))
    assert out.column("a").to_pylist() == [2, 4]
    assert double.__name__ == "double"


def test_model_inputs_keep_their_arguments() -> None:
    m = bayou.Model("trips", columns=["x"], filter="x > 1", ref="main")
    assert (m.name, m.columns, m.filter, m.ref) == ("trips", ["x"], "x > 1", "main")
    assert bayou.Parameter("limit").name == "limit"


def test_an_unknown_materialization_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="materialization_strategy"):
        bayou.model(materialization_strategy="SOMETIMES")


TABLE = pa.table(
    {
        "id": [1, 2, 3],
        "dup": [1, 1, 2],
        "city": ["Rome", None, "Oslo"],
        "nothing": pa.array([None, None, None], pa.int64()),
        "first": ["a", "b", "c"],
        "last": ["x", "y", "z"],
        "full": ["a-x", "b-y", "c-z"],
    }
)


def test_null_checks() -> None:
    assert se.expect_column_no_nulls(TABLE, "id")
    assert not se.expect_column_no_nulls(TABLE, "city")
    assert se.expect_column_some_null(TABLE, "city")
    assert se.expect_column_all_null(TABLE, "nothing")
    assert not se.expect_column_all_null(TABLE, "city")


def test_uniqueness_checks() -> None:
    assert se.expect_column_all_unique(TABLE, "id")
    assert not se.expect_column_all_unique(TABLE, "dup")
    assert se.expect_column_not_unique(TABLE, "dup")


def test_value_checks() -> None:
    assert se.expect_column_accepted_values(TABLE, "city", ["Rome", "Oslo"])
    assert not se.expect_column_accepted_values(TABLE, "city", ["Rome"])
    assert se.expect_column_mean_greater_than(TABLE, "id", 1.5)
    assert not se.expect_column_mean_greater_than(TABLE, "id", 2)
    assert se.expect_column_mean_greater_or_equal_than(TABLE, "id", 2)
    assert se.expect_column_mean_smaller_than(TABLE, "id", 2.5)
    assert se.expect_column_mean_smaller_or_equal_than(TABLE, "id", 2)
    assert se.expect_column_equal_concatenation(TABLE, "full", ["first", "last"], separator="-")
    assert not se.expect_column_equal_concatenation(TABLE, "full", ["last", "first"], separator="-")


def test_a_missing_column_is_named() -> None:
    with pytest.raises(KeyError, match="'nope' is not in the table"):
        se.expect_column_no_nulls(TABLE, "nope")
