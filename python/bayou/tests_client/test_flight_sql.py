"""The server's Flight SQL endpoint through ADBC's Flight SQL driver, as BI tools reach it:
statements and prepared statements at a ref, catalog metadata, and the API key."""

from __future__ import annotations

from typing import Any, Iterator

import adbc_driver_flightsql.dbapi as flight_sql
import pytest

from conftest import Server


def connect(server: Server, key: str | None = None, **options: str) -> Any:
    kwargs = {"adbc.flight.sql.authorization_header": f"Bearer {key or server.key}", **options}
    uri = server.url.replace("http://", "grpc://")
    return flight_sql.connect(uri=uri, db_kwargs=kwargs, autocommit=True)


@pytest.fixture(scope="module", autouse=True)
def data(server: Server) -> None:
    server.cli("table", "create", "rides", "--search-uri", server.csv("rides.csv", "id,km\n1,2.5\n2,4.0\n"))
    server.cli("tag", "create", "two_rides")
    server.cli("table", "import", "rides", "--search-uri", server.csv("rides3.csv", "id,km\n3,1.0\n"))


@pytest.fixture
def conn(server: Server) -> Iterator[Any]:
    with connect(server) as c:
        yield c


def test_statements_read_the_active_branch_or_the_ref_a_header_names(conn: Any, server: Server) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT id, km FROM rides ORDER BY id")
        table = cur.fetch_arrow_table()
    assert table.column("id").to_pylist() == [1, 2, 3]
    pinned = connect(server, **{"adbc.flight.sql.rpc.call_header.x-bayou-ref": "two_rides"})
    with pinned, pinned.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM rides")
        assert cur.fetchone() == (2,)


def test_set_bayou_ref_moves_the_session_to_another_ref(server: Server) -> None:
    session = connect(server, **{"adbc.flight.sql.rpc.with_cookie_middleware": "true"})
    with session, session.cursor() as cur:
        cur.execute("SET bayou.ref = 'two_rides'")
        cur.execute("SELECT COUNT(*) AS n FROM rides")
        assert cur.fetchone() == (2,)
        with pytest.raises(Exception, match="unknown ref"):
            cur.execute("SET bayou.ref = 'no_such_ref'")


def test_prepared_statements_run_again_and_read_the_ref_as_it_is(conn: Any, server: Server) -> None:
    with conn.cursor() as cur:
        cur.adbc_prepare("SELECT MAX(km) AS km FROM rides")
        cur.execute("SELECT MAX(km) AS km FROM rides")
        assert cur.fetchone() == (4.0,)
        server.cli("table", "import", "rides", "--search-uri", server.csv("rides4.csv", "id,km\n4,9.5\n"))
        cur.execute("SELECT MAX(km) AS km FROM rides")
        assert cur.fetchone() == (9.5,)


def test_catalog_metadata_lists_namespaces_tables_and_schemas(conn: Any) -> None:
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    assert [o["catalog_name"] for o in objects] == ["bayou"]
    schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
    assert "rides" in [t["table_name"] for t in schemas["bayou"]["db_schema_tables"]]
    schema = conn.adbc_get_table_schema("rides", db_schema_filter="bayou")
    assert schema.names == ["id", "km"]
    assert conn.adbc_get_table_types() == ["TABLE"]


def test_errors_keep_their_message_and_keys_are_checked(conn: Any, server: Server) -> None:
    with conn.cursor() as cur, pytest.raises(Exception, match="nope"):
        cur.execute("SELECT nope FROM rides")
    with pytest.raises(Exception, match="(?i)unknown or revoked|unauthenticated"):
        with connect(server, key="bayou_bad_key") as bad, bad.cursor() as cur:
            cur.execute("SELECT 1")


def _statement(sql: str) -> bytes:
    """Flight SQL's `CommandStatementQuery` (field 1: the query) packed in a protobuf `Any`,
    as a Flight SQL client sends it in a descriptor."""
    from google.protobuf import any_pb2

    text = sql.encode()
    length, size = bytearray(), len(text)
    while True:
        byte, size = size & 0x7F, size >> 7
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    command = any_pb2.Any(
        type_url="type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery",
        value=b"\x0a" + bytes(length) + text,
    )
    return command.SerializeToString()


def test_pyarrow_flight_reads_a_statement_at_a_ref_as_arrow(server: Server) -> None:
    import pyarrow.flight as flight

    client = flight.FlightClient(server.url.replace("http://", "grpc://"))
    options = flight.FlightCallOptions(
        headers=[(b"authorization", f"Bearer {server.key}".encode()), (b"x-bayou-ref", b"two_rides")]
    )
    descriptor = flight.FlightDescriptor.for_command(_statement("SELECT id, km FROM rides ORDER BY id"))
    info = client.get_flight_info(descriptor, options)
    assert info.schema.names == ["id", "km"]
    (endpoint,) = info.endpoints
    table = client.do_get(endpoint.ticket, options).read_all()
    assert table.column("id").to_pylist() == [1, 2]
    # Without the key, nothing is planned nor read.
    anonymous = flight.FlightCallOptions(headers=[(b"x-bayou-ref", b"two_rides")])
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.get_flight_info(descriptor, anonymous)
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.do_get(endpoint.ticket, anonymous)
