"""Prints bayou's query times next to DuckDB's: compare.py OURS.jsonl PEER.jsonl ROWS."""

from __future__ import annotations

import json
import sys


def load(path: str) -> dict[str, dict]:
    out = {}
    for line in open(path):
        if line.startswith("JSON "):
            record = json.loads(line[5:])
            out[record["query"]] = record
    return out


def main() -> None:
    ours, peer, rows = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
    for name, mine in ours.items():
        theirs = peer[name]
        if mine["rows"] != theirs["rows"]:
            raise SystemExit(f"{name}: bayou returned {mine['rows']} rows, DuckDB {theirs['rows']}")
        ratio = theirs["seconds"] / mine["seconds"]
        verdict = "faster" if ratio >= 1 else "slower"
        print(
            f"query {name:<22} at {rows} rows: bayou {mine['seconds']*1000:8.1f} ms | "
            f"DuckDB {theirs['seconds']*1000:8.1f} ms | bayou is {ratio:.2f}x ({verdict})"
        )


if __name__ == "__main__":
    main()
