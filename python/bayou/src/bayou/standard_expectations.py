"""Common data checks over pyarrow tables. Each returns a bool: True when the check passes."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = [
    "expect_column_accepted_values",
    "expect_column_all_null",
    "expect_column_all_unique",
    "expect_column_equal_concatenation",
    "expect_column_mean_greater_or_equal_than",
    "expect_column_mean_greater_than",
    "expect_column_mean_smaller_or_equal_than",
    "expect_column_mean_smaller_than",
    "expect_column_no_nulls",
    "expect_column_not_unique",
    "expect_column_some_null",
]


def _column(table: Any, column: str) -> Any:
    if column not in table.column_names:
        raise KeyError(f"column {column!r} is not in the table (columns: {', '.join(table.column_names)})")
    return table.column(column)


def expect_column_no_nulls(table: Any, column: str) -> bool:
    return bool(_column(table, column).null_count == 0)


def expect_column_some_null(table: Any, column: str) -> bool:
    return bool(_column(table, column).null_count > 0)


def expect_column_all_null(table: Any, column: str) -> bool:
    col = _column(table, column)
    return bool(col.null_count == len(col))


def _distinct_count(col: Any) -> int:
    import pyarrow.compute as pc

    return int(pc.count_distinct(col, mode="all").as_py())


def expect_column_all_unique(table: Any, column: str) -> bool:
    col = _column(table, column)
    return _distinct_count(col) == len(col)


def expect_column_not_unique(table: Any, column: str) -> bool:
    col = _column(table, column)
    return _distinct_count(col) < len(col)


def expect_column_accepted_values(table: Any, column: str, accepted_values: Sequence[Any]) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _column(table, column)
    allowed = pa.array(list(accepted_values), type=col.type)
    return bool(pc.all(pc.is_in(col.drop_null(), value_set=allowed)).as_py() is not False)


def _mean(table: Any, column: str) -> float:
    import pyarrow.compute as pc

    value = pc.mean(_column(table, column)).as_py()
    if value is None:
        raise ValueError(f"column {column!r} has no values to average")
    return float(value)


def expect_column_mean_greater_than(table: Any, column: str, value: float) -> bool:
    return _mean(table, column) > value


def expect_column_mean_greater_or_equal_than(table: Any, column: str, value: float) -> bool:
    return _mean(table, column) >= value


def expect_column_mean_smaller_than(table: Any, column: str, value: float) -> bool:
    return _mean(table, column) < value


def expect_column_mean_smaller_or_equal_than(table: Any, column: str, value: float) -> bool:
    return _mean(table, column) <= value


def expect_column_equal_concatenation(
    table: Any, target_column: str, columns: Sequence[str], separator: str = ""
) -> bool:
    """True when `target_column` equals the given columns joined with `separator`, row by row."""
    import pyarrow.compute as pc

    parts = [_column(table, c).cast("string") for c in columns]
    joined = pc.binary_join_element_wise(*parts, separator)
    target = _column(table, target_column).cast("string")
    return bool(pc.all(pc.equal(joined, target)).as_py())
