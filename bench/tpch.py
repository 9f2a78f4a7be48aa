"""TPC-H: all 22 queries on bayou's engine and on DuckDB over the very same Parquet files.

Usage: tpch.py BAYOU BAYOU_BENCH SCALE_FACTOR RUNS WORK_DIR

Generates the data with `tpchgen-cli` (once per scale factor, kept in WORK_DIR or in
$BENCH_TPCH_DIR), registers each file in a bayou lake in place (`table create-external`, no
copy), runs `bench/tpch/*.sql` on both engines (best of RUNS, in process), checks that every
answer matches DuckDB's row by row, and prints each query's times, their ratio and the geometric
mean of the ratios. Stops on the first answer that differs.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import os
import shutil
import subprocess
import sys
from typing import Any

import duckdb
import pyarrow.ipc as ipc

from duckdb_peer import add_view, timed

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
QUERIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tpch")


def generate(scale: str, work: str) -> str:
    """The directory holding one Parquet file per table at `scale`, generated if missing."""
    data = os.environ.get("BENCH_TPCH_DIR") or os.path.join(work, f"tpch-sf{scale}")
    if all(os.path.exists(os.path.join(data, f"{t}.parquet")) for t in TABLES):
        return data
    tool = shutil.which("tpchgen-cli", path=os.path.dirname(sys.executable)) or "tpchgen-cli"
    # Plain Parquet, as another engine would write it: no Iceberg field ids.
    subprocess.run(
        [tool, "parquet", "-s", scale, "--field-ids", "false", "-o", data], check=True
    )
    return data


def register(bayou: str, lake: str, data: str) -> None:
    """Makes each file a bayou table where it lies."""
    for table in TABLES:
        subprocess.run(
            [bayou, "--lake", lake, "table", "create-external", table,
             "--search-pattern", os.path.join(data, f"{table}.parquet")],
            check=True, stdout=subprocess.DEVNULL,
        )


def normal(value: Any) -> Any:
    """A value as both engines' answers can be compared: exact numbers become floats."""
    if isinstance(value, (decimal.Decimal, int)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.date() if value.time() == datetime.time() else value
    return value


def same(a: Any, b: Any) -> bool:
    a, b = normal(a), normal(b)
    if isinstance(a, float) and isinstance(b, float):
        # Averages and ratios: decimals with 6 places on one side, doubles on the other.
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-5)
    return a == b


def check(name: str, ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> None:
    """Fails naming the first row that differs; rows tied on the ORDER BY may come in any order."""
    if len(ours) != len(theirs):
        raise SystemExit(f"{name}: bayou returned {len(ours)} rows, DuckDB {len(theirs)}")

    def rows_match(xs: list[tuple[Any, ...]], ys: list[tuple[Any, ...]]) -> int | None:
        for i, (x, y) in enumerate(zip(xs, ys)):
            if len(x) != len(y) or not all(same(a, b) for a, b in zip(x, y)):
                return i
        return None

    first = rows_match(ours, theirs)
    if first is None:
        return
    key = lambda row: tuple(str(normal(v)) for v in row)  # noqa: E731
    if rows_match(sorted(ours, key=key), sorted(theirs, key=key)) is None:
        return
    raise SystemExit(f"{name}: row {first} differs:\n  bayou  {ours[first]}\n  DuckDB {theirs[first]}")


def answer_of(path: str) -> list[tuple[Any, ...]]:
    """The rows bayou-bench wrote (no file: an empty answer)."""
    if not os.path.exists(path):
        return []
    return [tuple(r.values()) for r in ipc.open_file(path).read_all().to_pylist()]


def main() -> None:
    bayou, bench, scale, runs, work = sys.argv[1:6]
    data = generate(scale, work)
    lake, answers = os.path.join(work, "tpch-lake"), os.path.join(work, "tpch-answers")
    shutil.rmtree(lake, ignore_errors=True)
    os.makedirs(answers, exist_ok=True)
    register(bayou, lake, data)
    out = subprocess.run(
        [bench, "queries", lake, QUERIES, runs, answers], check=True, capture_output=True, text=True
    ).stdout
    ours = {r["query"]: r for r in (json.loads(l[5:]) for l in out.splitlines() if l.startswith("JSON "))}
    con = duckdb.connect()
    for table in TABLES:
        add_view(con, table, [os.path.join(data, f"{table}.parquet")])
    ratios = []
    for name in sorted(ours):
        seconds, theirs = timed(con, open(os.path.join(QUERIES, f"{name}.sql")).read(), int(runs))
        check(name, answer_of(os.path.join(answers, f"{name}.arrow")), theirs)
        ratio = seconds / ours[name]["seconds"]
        ratios.append(ratio)
        print(
            f"tpch {name} at SF{scale}   bayou {ours[name]['seconds'] * 1000:8.1f} ms | "
            f"DuckDB {seconds * 1000:8.1f} ms | {ratio:.2f}x ({'faster' if ratio >= 1 else 'slower'}), "
            f"{len(theirs)} rows match"
        )
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"tpch geometric mean of {len(ratios)} queries at SF{scale}: bayou is {geomean:.2f}x DuckDB's speed")
    print("JSON " + json.dumps({"scale": scale, "queries": len(ratios), "geomean": geomean}))


if __name__ == "__main__":
    main()
