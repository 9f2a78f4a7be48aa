"""The server's Iceberg REST catalog through pyiceberg's RestCatalog: namespaces, tables and
scans at a branch (the warehouse) and at a tag, with the API key as the Bearer token."""

from __future__ import annotations

import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NoSuchTableError

from conftest import Server


@pytest.fixture(scope="module", autouse=True)
def data(server: Server) -> None:
    server.cli("table", "create", "legs", "--search-uri", server.csv("legs.csv", "id,km\n1,2.5\n2,4.0\n"))
    server.cli("tag", "create", "two_legs")
    server.cli("table", "import", "legs", "--search-uri", server.csv("legs3.csv", "id,km\n3,1.0\n"))


def catalog(server: Server, warehouse: str) -> RestCatalog:
    return RestCatalog("bayou", uri=f"{server.url}/iceberg", token=server.key, warehouse=warehouse)


def test_pyiceberg_lists_and_scans_tables_at_a_branch_and_a_tag(server: Server) -> None:
    main = catalog(server, "main")
    assert ("bayou",) in main.list_namespaces()
    assert ("bayou", "legs") in main.list_tables("bayou")
    rows = main.load_table("bayou.legs").scan().to_arrow().sort_by("id")
    assert rows.column("id").to_pylist() == [1, 2, 3]
    then = catalog(server, "two_legs").load_table("bayou.legs").scan().to_arrow()
    assert sorted(then.column("id").to_pylist()) == [1, 2]


def test_the_ref_may_be_in_the_uri_and_errors_are_the_protocols(server: Server) -> None:
    in_uri = RestCatalog("bayou", uri=f"{server.url}/iceberg/two_legs", token=server.key)
    assert in_uri.load_table("bayou.legs").scan().to_arrow().num_rows == 2
    with pytest.raises(NoSuchTableError):
        catalog(server, "main").load_table("bayou.nope")
    with pytest.raises(Exception, match="(?i)unknown or revoked|unauthorized|401"):
        RestCatalog("bayou", uri=f"{server.url}/iceberg", token="bayou_bad_key", warehouse="main").list_namespaces()
