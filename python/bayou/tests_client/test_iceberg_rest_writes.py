"""Writes through the server's Iceberg REST catalog by real engines: namespaces, staged
creates, renames, drops, registers (pyiceberg), and DuckDB's CREATE TABLE, INSERT and
multi-table transactions. Each write is one bayou commit on the branch; other refs never move."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.exceptions import (
    BadRequestError,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)

import bayou
from conftest import Server, catalog, duckdb_with_key


@pytest.fixture(scope="module", autouse=True)
def data(server: Server) -> None:
    server.cli("table", "create", "legs", "--search-uri", server.csv("legs.csv", "id,km\n1,2.5\n2,4.0\n"))
    server.cli("tag", "create", "start")


def lake(server: Server) -> bayou.Client:
    return bayou.Client(remote=server.url, api_key=server.key)


def commits(client: bayou.Client, ref: str) -> list[Any]:
    return list(client.get_commits(ref, limit=100))


def post(server: Server, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A raw catalog call: the status and the JSON answered (if any)."""
    request = urllib.request.Request(
        f"{server.url}/iceberg/v1/{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_namespaces_are_made_and_dropped_through_the_catalog(server: Server) -> None:
    main = catalog(server, "main")
    main.create_namespace("fresh")
    assert ("fresh",) in main.list_namespaces()
    assert main.namespace_exists("fresh")
    with pytest.raises(NamespaceAlreadyExistsError):
        main.create_namespace("fresh")
    with pytest.raises(NamespaceNotEmptyError, match="bayou.legs"):
        main.drop_namespace("bayou")
    with pytest.raises(BadRequestError, match="one"):
        main.create_namespace(("two", "levels"))
    main.drop_namespace("fresh")
    assert ("fresh",) not in main.list_namespaces()
    with pytest.raises(NoSuchNamespaceError):
        main.drop_namespace("fresh")


def test_pyiceberg_stages_a_table_and_makes_it_with_its_rows_in_one_commit(server: Server) -> None:
    client = lake(server)
    client.create_branch("staged", from_ref="main")
    before = len(commits(client, "staged"))
    schema = pa.schema([pa.field("river", pa.string()), pa.field("km", pa.float64())])
    outside = catalog(server, "staged")
    with outside.create_table_transaction("bayou.rivers", schema=schema) as made:
        made.append(pa.table({"river": ["Loire", "Rhône"], "km": [1006.0, 812.0]}, schema=schema))
    history = commits(client, "staged")
    assert len(history) == before + 1 and "create bayou.rivers" in history[0].message
    total = client.query("SELECT SUM(km) AS km FROM rivers", ref="staged").column("km")[0].as_py()
    assert total == 1818.0
    assert not client.has_table("rivers", ref="main")
    # A second staged create of the name loses at its commit: the table exists by then.
    with pytest.raises(TableAlreadyExistsError):
        outside.create_table_transaction("bayou.rivers", schema=schema)


def test_a_staged_create_may_not_place_its_table_outside_the_lake(server: Server) -> None:
    lake(server).create_branch("placed", from_ref="main")
    fields = [{"id": 1, "name": "x", "required": False, "type": "long"}]
    schema = {"type": "struct", "schema-id": 0, "fields": fields}
    status, staged = post(server, "placed/namespaces/bayou/tables", {"name": "t", "schema": schema, "stage-create": True})
    assert status == 200 and staged["metadata-location"] is None
    v3 = {"name": "t", "schema": schema, "stage-create": True, "properties": {"format-version": "3"}}
    status, answer = post(server, "placed/namespaces/bayou/tables", v3)
    assert status == 400 and "version 2" in answer["error"]["message"]
    place = staged["metadata"]["location"]
    for location, why in [("file:///tmp/elsewhere", "may not be created at"), (place + "x", "may not be created at")]:
        updates = [
            {"action": "add-schema", "schema": schema},
            {"action": "set-current-schema", "schema-id": -1},
            {"action": "set-location", "location": location},
        ]
        body = {"requirements": [{"type": "assert-create"}], "updates": updates}
        status, answer = post(server, "placed/namespaces/bayou/tables/t", body)
        assert status == 400 and why in answer["error"]["message"]
    assert not lake(server).has_table("t", ref="placed")
    updates[-1] = {"action": "set-location", "location": place}
    status, made = post(server, "placed/namespaces/bayou/tables/t", {"requirements": [{"type": "assert-create"}], "updates": updates})
    assert status == 200 and made["metadata"]["location"] == place
    assert lake(server).has_table("t", ref="placed")
    # Its place is taken for good: dropped, the table may not be made there again.
    catalog(server, "placed").drop_table("bayou.t")
    body = {"requirements": [{"type": "assert-create"}], "updates": updates}
    status, answer = post(server, "placed/namespaces/bayou/tables/t", body)
    assert status == 400 and "holds a table already" in answer["error"]["message"]


def test_tables_are_renamed_registered_and_dropped_on_a_branch_only(server: Server) -> None:
    client = lake(server)
    client.create_branch("moves", from_ref="main")
    moves = catalog(server, "moves")
    moves.rename_table("bayou.legs", "bayou.stages")
    assert not moves.table_exists("bayou.legs") and moves.table_exists("bayou.stages")
    assert sorted(moves.load_table("bayou.stages").scan().to_arrow().column("id").to_pylist()) == [1, 2]
    assert catalog(server, "main").table_exists("bayou.legs")
    with pytest.raises(NoSuchTableError):
        moves.rename_table("bayou.legs", "bayou.gone")
    place = moves.load_table("bayou.stages").metadata_location
    moves.register_table("bayou.copy", place)
    assert client.query("SELECT COUNT(*) AS n FROM copy", ref="moves").column("n")[0].as_py() == 2
    with pytest.raises(TableAlreadyExistsError):
        moves.rename_table("bayou.stages", "bayou.copy")
    with pytest.raises(BadRequestError, match="not in this lake"):
        moves.register_table("bayou.stolen", "file:///etc/passwd")
    moves.drop_table("bayou.copy")
    assert not moves.table_exists("bayou.copy") and moves.table_exists("bayou.stages")
    with pytest.raises(NoSuchTableError):
        moves.drop_table("bayou.copy")
    # A tag never changes through the catalog.
    with pytest.raises(BadRequestError, match="not a branch"):
        catalog(server, "start").drop_table("bayou.legs")
    assert client.has_table("legs", ref="main") and not client.has_table("copy", ref="main")


def test_duckdb_creates_and_fills_tables_on_a_branch_and_commits_several_at_once(server: Server) -> None:
    client = lake(server)
    client.create_branch("ducks", from_ref="main")
    con = duckdb_with_key(server)
    con.execute(f"ATTACH 'ducks' AS lake (TYPE iceberg, ENDPOINT '{server.url}/iceberg', SECRET bayou_key)")
    con.execute("CREATE TABLE lake.bayou.towns (name VARCHAR, km DOUBLE)")
    con.execute("INSERT INTO lake.bayou.towns VALUES ('Arles', 1.5), ('Gap', 2.0)")
    assert con.execute("SELECT SUM(km) FROM lake.bayou.towns").fetchone() == (3.5,)
    before = len(commits(client, "ducks"))
    con.execute("BEGIN")
    con.execute("INSERT INTO lake.bayou.towns VALUES ('Digne', 4.0)")
    con.execute("INSERT INTO lake.bayou.legs VALUES (9, 9.5)")
    con.execute("COMMIT")
    # Both tables changed in one bayou commit, readable by bayou at once; main never moved.
    history = commits(client, "ducks")
    assert len(history) == before + 1
    assert "bayou.towns" in history[0].message and "bayou.legs" in history[0].message
    assert client.query("SELECT COUNT(*) AS n FROM towns", ref="ducks").column("n")[0].as_py() == 3
    assert client.query("SELECT MAX(id) AS n FROM legs", ref="ducks").column("n")[0].as_py() == 9
    assert not client.has_table("towns", ref="main")
    assert client.query("SELECT MAX(id) AS n FROM legs", ref="main").column("n")[0].as_py() == 2
    # DuckDB reads both branches side by side.
    con.execute(f"ATTACH 'main' AS trunk (TYPE iceberg, ENDPOINT '{server.url}/iceberg', SECRET bayou_key)")
    both = "SELECT (SELECT MAX(id) FROM lake.bayou.legs), (SELECT MAX(id) FROM trunk.bayou.legs)"
    assert con.execute(both).fetchone() == (9, 2)
    # DuckDB deletes rows with delete files (merge-on-read), which bayou's scans would not
    # apply: the commit is refused, saying so, and the branch stays as it was.
    head = client.get_branch("ducks").hash
    with pytest.raises(Exception, match="row-level delete files"):
        con.execute("DELETE FROM lake.bayou.towns WHERE name = 'Gap'")
    assert client.get_branch("ducks").hash == head
    assert client.query("SELECT COUNT(*) AS n FROM towns", ref="ducks").column("n")[0].as_py() == 3


def test_a_transaction_with_one_stale_table_changes_none(server: Server) -> None:
    client = lake(server)
    client.create_branch("atomic", from_ref="main")
    catalog(server, "atomic").create_table("bayou.notes", schema=pa.schema([pa.field("n", pa.int64())]))
    head = client.get_branch("atomic").hash
    legs = catalog(server, "atomic").load_table("bayou.legs").metadata.current_snapshot_id
    fresh = {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": legs}
    stale = {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}
    changes = [
        {"identifier": {"namespace": ["bayou"], "name": "legs"}, "requirements": [fresh],
         "updates": [{"action": "set-properties", "updates": {"checked": "yes"}}]},
        {"identifier": {"namespace": ["bayou"], "name": "notes"}, "requirements": [stale],
         "updates": [{"action": "set-properties", "updates": {"checked": "yes"}}]},
    ]
    status, answer = post(server, "atomic/transactions/commit", {"table-changes": changes})
    assert status == 409 and answer["error"]["type"] == "CommitFailedException"
    assert client.get_branch("atomic").hash == head
    assert "checked" not in catalog(server, "atomic").load_table("bayou.legs").properties
    # The same changes, both fresh, land as one commit.
    changes[1]["requirements"] = []
    status, _ = post(server, "atomic/transactions/commit", {"table-changes": changes})
    assert status == 204
    assert commits(client, "atomic")[0].parent_hashes[0] == head
    assert catalog(server, "atomic").load_table("bayou.notes").properties["checked"] == "yes"
    # One change per table: the same table twice is refused.
    status, answer = post(server, "atomic/transactions/commit", {"table-changes": [changes[0], changes[0]]})
    assert status == 400 and "twice" in answer["error"]["message"]


def test_a_commit_naming_files_outside_the_lake_is_refused_and_nothing_is_read(server: Server) -> None:
    client = lake(server)
    client.create_branch("outside", from_ref="main")
    head = client.get_branch("outside").hash
    current = catalog(server, "outside").load_table("bayou.legs").metadata
    snapshot = {
        "snapshot-id": 4242, "parent-snapshot-id": current.current_snapshot_id,
        "sequence-number": current.last_sequence_number + 1, "timestamp-ms": 1_800_000_000_000,
        "manifest-list": "file:///etc/hostname", "summary": {"operation": "append"}, "schema-id": 0,
    }
    updates = [
        {"action": "add-snapshot", "snapshot": snapshot},
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 4242},
    ]
    status, answer = post(server, "outside/namespaces/bayou/tables/legs", {"updates": updates})
    assert status == 400 and "not in this lake's storage" in answer["error"]["message"], answer
    assert client.get_branch("outside").hash == head
