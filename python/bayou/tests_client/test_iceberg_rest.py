"""The server's Iceberg REST catalog through pyiceberg's RestCatalog: namespaces, tables and
scans at a branch (the warehouse) and at a tag, with the API key as the Bearer token."""

from __future__ import annotations

import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NoSuchTableError

from conftest import Server, catalog, duckdb_with_key


@pytest.fixture(scope="module", autouse=True)
def data(server: Server) -> None:
    server.cli("table", "create", "legs", "--search-uri", server.csv("legs.csv", "id,km\n1,2.5\n2,4.0\n"))
    server.cli("tag", "create", "two_legs")
    server.cli("table", "import", "legs", "--search-uri", server.csv("legs3.csv", "id,km\n3,1.0\n"))


def test_pyiceberg_lists_and_scans_tables_at_a_branch_and_a_tag(server: Server) -> None:
    main = catalog(server, "main")
    assert ("bayou",) in main.list_namespaces()
    assert ("bayou", "legs") in main.list_tables("bayou")
    rows = main.load_table("bayou.legs").scan().to_arrow().sort_by("id")
    assert rows.column("id").to_pylist() == [1, 2, 3]
    then = catalog(server, "two_legs").load_table("bayou.legs").scan().to_arrow()
    assert sorted(then.column("id").to_pylist()) == [1, 2]
    # A commit id (abbreviated, as people copy them) reads the lake as that commit left it.
    import bayou

    created = [c for c in bayou.Client(remote=server.url, api_key=server.key).get_commits("main") if c.message.startswith("create bayou.legs")]
    at_commit = catalog(server, created[0].hash[:12]).load_table("bayou.legs").scan().to_arrow()
    assert sorted(at_commit.column("id").to_pylist()) == [1, 2]


def test_the_ref_may_be_in_the_uri_and_errors_are_the_protocols(server: Server) -> None:
    in_uri = RestCatalog("bayou", uri=f"{server.url}/iceberg/two_legs", token=server.key)
    assert in_uri.load_table("bayou.legs").scan().to_arrow().num_rows == 2
    main = catalog(server, "main")
    with pytest.raises(NoSuchTableError):
        main.load_table("bayou.nope")
    assert main.table_exists("bayou.legs") and not main.table_exists("bayou.nope")
    assert main.namespace_exists("bayou")
    with pytest.raises(Exception, match="(?i)unknown or revoked|unauthorized|401"):
        RestCatalog("bayou", uri=f"{server.url}/iceberg", token="bayou_bad_key", warehouse="main").list_namespaces()


def test_duckdb_attaches_the_catalog_at_a_branch_and_a_tag(server: Server) -> None:
    con = duckdb_with_key(server)
    endpoint = f"{server.url}/iceberg"
    con.execute(f"ATTACH 'main' AS lake (TYPE iceberg, ENDPOINT '{endpoint}', SECRET bayou_key)")
    con.execute(f"ATTACH 'two_legs' AS at_tag (TYPE iceberg, ENDPOINT '{endpoint}', SECRET bayou_key)")
    assert con.execute("SELECT COUNT(*) FROM lake.bayou.legs").fetchone() == (3,)
    assert con.execute("SELECT SUM(km) FROM at_tag.bayou.legs").fetchone() == (6.5,)


def test_a_pyiceberg_append_on_a_branch_is_a_bayou_commit_that_merges(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    import pyarrow as pa

    import bayou

    client = bayou.Client(remote=server.url, api_key=server.key)
    client.create_branch("ice", from_ref="main")
    main_before = client.get_branch("main").hash
    legs = catalog(server, "ice").load_table("bayou.legs")
    schema = legs.schema().as_arrow()
    legs.append(pa.table({"id": [10, 11], "km": [7.0, 8.0]}, schema=schema))
    # One bayou commit on the branch, readable by bayou at once; main is unchanged.
    head = next(client.get_commits("ice", limit=1))
    assert "Iceberg client" in head.message and head.author == "tester"
    assert client.query("SELECT COUNT(*) AS n FROM legs", ref="ice").column("n")[0].as_py() == 5
    assert client.get_branch("main").hash == main_before
    client.merge_branch("ice", into_branch="main")
    assert client.query("SELECT SUM(km) AS s FROM legs", ref="main").column("s")[0].as_py() == 22.5
    # A writer that read the table before another committed gets a conflict (409), and
    # pyiceberg retries on the new state: both appends are there, none is lost.
    stale = catalog(server, "main").load_table("bayou.legs")
    catalog(server, "main").load_table("bayou.legs").append(pa.table({"id": [12], "km": [1.0]}, schema=schema))
    with caplog.at_level("WARNING"):
        stale.append(pa.table({"id": [13], "km": [1.0]}, schema=schema))
    assert "concurrent update" in caplog.text
    ids = client.query("SELECT id FROM legs WHERE id >= 12 ORDER BY id", ref="main").column("id")
    assert ids.to_pylist() == [12, 13]
    # A tag cannot change.
    with pytest.raises(Exception, match="(?i)not a branch|tag"):
        catalog(server, "two_legs").load_table("bayou.legs").append(pa.table({"id": [14], "km": [1.0]}, schema=schema))


def test_engines_create_tables_on_a_branch_and_fill_them(server: Server) -> None:
    import pyarrow as pa
    from pyiceberg.exceptions import TableAlreadyExistsError

    import bayou

    client = bayou.Client(remote=server.url, api_key=server.key)
    client.create_branch("made_outside", from_ref="main")
    outside = catalog(server, "made_outside")
    schema = pa.schema([pa.field("city", pa.string()), pa.field("people", pa.int64())])
    made = outside.create_table("bayou.cities", schema=schema)
    made.append(pa.table({"city": ["Lyon", "Nantes"], "people": [520_000, 320_000]}, schema=schema))
    assert client.query("SELECT SUM(people) AS n FROM cities", ref="made_outside").column("n")[0].as_py() == 840_000
    assert not client.has_table("cities", ref="main")
    with pytest.raises(TableAlreadyExistsError):
        outside.create_table("bayou.cities", schema=schema)
