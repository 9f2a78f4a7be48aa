"""Reads a bayou table through an external Iceberg reader and prints its rows as JSON.

Usage: read_table.py pyiceberg|duckdb METADATA_LOCATION [--count]

Prints a JSON list of [license, origin_base, pu, do, miles, airport_fee, pickup_us] rows, sorted,
so the caller can compare them with what `bayou query` returns; with --count, the number of rows
of any table, every column read.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from typing import Any

COLUMNS = [
    "hvfhs_license_num",
    "originating_base_num",
    "PULocationID",
    "DOLocationID",
    "trip_miles",
    "airport_fee",
]


def with_pyiceberg(location: str) -> list[list[Any]]:
    import pyarrow as pa
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(location).scan().to_arrow()
    pickup = table.column("pickup_datetime").cast(pa.int64()).to_pylist()
    columns = [table.column(c).to_pylist() for c in COLUMNS]
    return [list(row) + [p] for row, p in zip(zip(*columns), pickup)]


def extension(module: Any, name: str) -> str:
    base = os.path.dirname(module.__file__)
    return glob.glob(os.path.join(base, "extensions", "*", f"{name}.duckdb_extension"))[0]


def with_duckdb(location: str) -> list[list[Any]]:
    import duckdb
    import duckdb_extension_avro
    import duckdb_extension_iceberg

    con = duckdb.connect()
    con.execute(f"LOAD '{extension(duckdb_extension_avro, 'avro')}'")
    con.execute(f"LOAD '{extension(duckdb_extension_iceberg, 'iceberg')}'")
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    query = f"SELECT {cols}, epoch_us(pickup_datetime) FROM iceberg_scan(?)"
    return [list(r) for r in con.execute(query, [location]).fetchall()]


def count(reader: str, location: str) -> int:
    if reader == "pyiceberg":
        from pyiceberg.table import StaticTable

        return StaticTable.from_metadata(location).scan().to_arrow().num_rows
    import duckdb
    import duckdb_extension_avro
    import duckdb_extension_iceberg

    con = duckdb.connect()
    con.execute(f"LOAD '{extension(duckdb_extension_avro, 'avro')}'")
    con.execute(f"LOAD '{extension(duckdb_extension_iceberg, 'iceberg')}'")
    return len(con.execute("SELECT * FROM iceberg_scan(?)", [location]).fetchall())


def main() -> None:
    reader, location = sys.argv[1], sys.argv[2]
    if sys.argv[3:] == ["--count"]:
        print(count(reader, location))
        return
    rows = with_pyiceberg(location) if reader == "pyiceberg" else with_duckdb(location)
    rows.sort(key=lambda r: json.dumps(r))
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()
