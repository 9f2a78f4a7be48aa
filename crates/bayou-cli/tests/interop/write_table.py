"""Writes an Iceberg table with pyiceberg (not bayou) and prints its metadata location.

Usage: python write_table.py WAREHOUSE_DIR
"""

from __future__ import annotations

import sys

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog


def main() -> None:
    warehouse = sys.argv[1]
    catalog = SqlCatalog("peer", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
    catalog.create_namespace("raw")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "amount": pa.array([1.5, 2.5, 4.0])})
    table = catalog.create_table("raw.events", schema=data.schema)
    table.append(data)
    table.append(pa.table({"id": pa.array([4], pa.int64()), "amount": pa.array([2.0])}))
    print(table.metadata_location)


if __name__ == "__main__":
    main()
