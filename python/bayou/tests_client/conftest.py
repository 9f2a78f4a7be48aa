"""A real `bayou server` (the binary in BAYOU_BIN) on a fresh lake, and a CLI aimed at it.

Run by `crates/bayou-cli/tests/python_client.rs`, which builds the binary and sets BAYOU_BIN.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from pyiceberg.catalog.rest import RestCatalog


@dataclass
class Server:
    url: str
    key: str
    bayou: str
    env: dict[str, str]
    home: Path

    def cli(self, *args: str) -> str:
        """Runs `bayou ARGS` against the server; returns stdout, failing the test on an error."""
        env = {**self.env, "BAYOU_REMOTE": self.url, "BAYOU_API_KEY": self.key}
        done = subprocess.run([self.bayou, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"bayou {args}: {done.stderr}"
        return done.stdout

    def csv(self, name: str, body: str) -> str:
        path = self.home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        return str(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    bayou = os.environ.get("BAYOU_BIN")
    if not bayou:
        pytest.fail("BAYOU_BIN names no bayou binary: run these through `cargo nextest` (python_client)")
    home = tmp_path_factory.mktemp("home")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BAYOU_REMOTE", "BAYOU_API_KEY", "BAYOU_CATALOG", "BAYOU_PROFILE")
    }
    env.update(HOME=str(home), BAYOU_LAKE=str(home / "lake"), BAYOU_AUTHOR="tester")
    made = subprocess.run(
        [bayou, "-O", "json", "server", "key", "create", "--user", "tester"],
        env=env, capture_output=True, text=True, check=True,
    )
    key = json.loads(made.stdout)["key"]
    proc = subprocess.Popen(
        [bayou, "-O", "json", "server", "--listen", "127.0.0.1:0"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = json.loads(proc.stdout.readline())["listening"]
    try:
        yield Server(url=url, key=key, bayou=bayou, env=env, home=home)
    finally:
        proc.terminate()
        proc.wait()


@pytest.fixture
def client(server: Server) -> Iterator[object]:
    import bayou

    with bayou.Client(remote=server.url, api_key=server.key) as c:
        yield c


def catalog(server: Server, warehouse: str) -> "RestCatalog":
    """pyiceberg's REST catalog on the server at ref `warehouse`, with the API key as token."""
    from pyiceberg.catalog.rest import RestCatalog

    return RestCatalog("bayou", uri=f"{server.url}/iceberg", token=server.key, warehouse=warehouse)


def duckdb_with_key(server: Server):  # type: ignore[no-untyped-def]
    """DuckDB with its Iceberg extensions (from their wheels) and the API key as a secret."""
    import glob
    import os

    import duckdb
    import duckdb_extension_avro
    import duckdb_extension_httpfs
    import duckdb_extension_iceberg

    con = duckdb.connect()
    for module, name in [
        (duckdb_extension_avro, "avro"),
        (duckdb_extension_httpfs, "httpfs"),
        (duckdb_extension_iceberg, "iceberg"),
    ]:
        base = os.path.dirname(module.__file__)
        con.execute(f"LOAD '{glob.glob(os.path.join(base, 'extensions', '*', f'{name}.duckdb_extension'))[0]}'")
    con.execute(f"CREATE SECRET bayou_key (TYPE iceberg, TOKEN '{server.key}')")
    return con
