"""bayou.Client (and bauplan.Client) against a real server: queries as Arrow, refs, tables,
namespaces, history, jobs, and typed errors."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bayou
from bayou import exceptions as exc
from conftest import Server

TRIPS = "id,miles,zone\n1,2.5,a\n2,4.0,b\n3,1.5,a\n"


@pytest.fixture(scope="module", autouse=True)
def trips(server: Server) -> None:
    server.cli("table", "create", "trips", "--search-uri", server.csv("trips.csv", TRIPS))


def test_a_query_returns_an_arrow_table_at_any_ref(client: bayou.Client, server: Server) -> None:
    table = client.query("SELECT id, miles FROM trips ORDER BY id")
    assert isinstance(table, pa.Table)
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert pa.types.is_floating(table.schema.field("miles").type)
    assert client.query("SELECT * FROM trips", max_rows=2).num_rows == 2
    client.create_tag("before_more", from_ref="main")
    server.cli("table", "import", "trips", "--search-uri", server.csv("more.csv", "id,miles,zone\n4,9.0,c\n"))
    assert client.query("SELECT COUNT(*) AS n FROM trips").column("n")[0].as_py() == 4
    assert client.query("SELECT COUNT(*) AS n FROM trips", ref="before_more").column("n")[0].as_py() == 3
    head = client.get_branch("main").hash
    assert client.query("SELECT COUNT(*) AS n FROM trips", ref=head[:12]).column("n")[0].as_py() == 4


def test_rows_stream_as_dicts_and_into_files(client: bayou.Client, tmp_path) -> None:
    rows = list(client.query_to_generator("SELECT id, zone FROM trips WHERE id < 3 ORDER BY id"))
    assert rows == [{"id": 1, "zone": "a"}, {"id": 2, "zone": "b"}]
    out = client.query_to_parquet_file(tmp_path / "t.parquet", "SELECT id FROM trips ORDER BY id")
    assert pq.read_table(out).column("id").to_pylist()[:3] == [1, 2, 3]
    csv = client.query_to_csv_file(tmp_path / "t.csv", "SELECT id FROM trips WHERE id = 1")
    assert csv.read_text().splitlines() == ['"id"', "1"]


def test_scan_selects_columns_filters_rows_and_refuses_injection(client: bayou.Client) -> None:
    scanned = client.scan("trips", columns=["id"], filters="zone = 'a' AND miles > 2")
    assert scanned.column_names == ["id"] and scanned.column("id").to_pylist() == [1]
    assert client.scan("bauplan.trips", limit=1).num_rows == 1
    for bad in ["1=1) UNION (SELECT 1", "1=1; DROP TABLE trips", "zone = 'a"]:
        with pytest.raises(exc.InvalidArgumentError):
            client.scan("trips", filters=bad)
    with pytest.raises(exc.InvalidArgumentError):
        client.scan("trips", columns=['id" FROM x --'])


def test_branches_are_made_merged_renamed_and_removed(client: bayou.Client, server: Server) -> None:
    branch = client.create_branch("tester.dev", from_ref="main")
    assert branch.hash == client.get_branch("main").hash
    assert client.create_branch("tester.dev", from_ref="main", if_not_exists=True) == branch
    with pytest.raises(exc.BranchExistsError):
        client.create_branch("tester.dev", from_ref="main")
    assert [b.name for b in client.get_branches(user="tester")] == ["tester.dev"]
    server.cli("table", "import", "trips", "-b", "tester.dev", "--search-uri", server.csv("dev.csv", "id,miles,zone\n9,1.0,z\n"))
    merged = client.merge_branch("tester.dev", into_branch="main")
    assert merged.hash == client.get_branch("tester.dev").hash
    renamed = client.rename_branch("tester.dev", "tester.done")
    assert renamed.name == "tester.done" and not client.has_branch("tester.dev")
    assert client.delete_branch("tester.done") and not client.has_branch("tester.done")
    assert client.delete_branch("tester.done", if_exists=True) is False
    with pytest.raises(exc.BranchNotFoundError):
        client.get_branch("tester.done")
    with pytest.raises(exc.NotFoundError):
        client.delete_branch("tester.done")


def test_a_merge_that_conflicts_names_the_table(client: bayou.Client, server: Server) -> None:
    client.create_branch("side", from_ref="main")
    for branch, body in [("side", "id,miles,zone\n7,7.0,x\n"), ("main", "id,miles,zone\n8,8.0,y\n")]:
        path = server.csv(f"replace-{branch}.csv", body)
        server.cli("table", "create", "scratch", "-b", branch, "--replace", "--search-uri", path)
    with pytest.raises(exc.MergeConflictError, match="scratch"):
        client.merge_branch("side", into_branch="main")


def test_tags_namespaces_and_tables(client: bayou.Client) -> None:
    tag = client.create_tag("v1", from_ref="main")
    assert client.get_tag("v1") == tag and client.has_tag("v1")
    with pytest.raises(exc.TagExistsError):
        client.create_tag("v1", from_ref="main")
    assert client.delete_tag("v1") and not client.has_tag("v1")
    client.create_namespace("raw")
    assert client.has_namespace("raw")
    with pytest.raises(exc.NamespaceExistsError):
        client.create_namespace("raw")
    client.create_namespace("raw", if_not_exists=True)
    assert client.delete_namespace("raw") and not client.has_namespace("raw")
    names = [t.fqn for t in client.get_tables(ref="main")]
    assert "bayou.trips" in names
    info = client.get_table("trips", ref="main")
    assert info.records >= 3 and [f.name for f in info.fields] == ["id", "miles", "zone"]
    assert client.has_table("trips") and not client.has_table("nope")
    with pytest.raises(exc.TableNotFoundError):
        client.get_table("nope")
    with pytest.raises(exc.RefNotFoundError):
        client.query("SELECT 1", ref="no_such_ref")


def test_commits_page_newest_first_with_filters(client: bayou.Client) -> None:
    commits = list(client.get_commits("main"))
    assert commits and commits[0].hash == client.get_branch("main").hash
    assert all(a.authored_date >= b.authored_date for a, b in zip(commits, commits[1:]))
    assert len(list(client.get_commits("main", limit=2))) == 2
    imports = list(client.get_commits("main", filter_by_message="import"))
    assert imports and all("import" in c.message for c in imports)


def test_jobs_are_listed_read_and_their_logs_kept(client: bayou.Client, server: Server) -> None:
    project = server.home / "project"
    project.mkdir()
    (project / "bayou_project.yml").write_text("project:\n  name: p\n")
    (project / "far.sql").write_text("-- bayou: materialization_strategy=REPLACE\nSELECT id FROM trips WHERE miles > 2\n")
    server.cli("run", "-p", str(project))
    jobs = list(client.get_jobs(limit=5))
    assert jobs and jobs[0].status == "succeeded" and jobs[0].user == "tester"
    assert client.get_job(jobs[0].id).record["nodes"][0]["name"] == "far"
    assert isinstance(client.get_job_logs(jobs[0].id), list)
    with pytest.raises(exc.JobNotFoundError):
        client.get_job("20260101000000-000000")


def test_bad_keys_and_unreachable_servers_raise_typed_errors(server: Server) -> None:
    with pytest.raises(exc.UnauthorizedError, match="unknown or revoked"):
        bayou.Client(remote=server.url, api_key="bayou_nope_nope").query("SELECT 1")
    with pytest.raises(exc.UnauthorizedError):
        bayou.Client(remote=server.url, api_key=None).get_branches().__next__()
    with pytest.raises(exc.UnavailableError, match="cannot reach"):
        list(bayou.Client(remote="http://127.0.0.1:9", api_key="k").get_branches())

def test_with_no_server_configured_the_default_lake_is_served_locally(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BAYOU_REMOTE", "BAYOU_API_KEY", "BAUPLAN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(server.home / "laptop"))
    monkeypatch.setenv("BAYOU_LAKE", str(server.home / "laptop" / "lake"))
    with bayou.Client() as first:
        first.create_branch("scratch", from_ref="main")
        info = first.info()
        assert info.remote.startswith("http://127.0.0.1:") and info.user.username
    keys = server.home / "laptop" / ".bayou" / "local-keys.json"
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    kept = json.loads(keys.read_text())
    # A second client serves the same lake again, with the key kept from the first.
    with bayou.Client() as second:
        assert second.has_branch("scratch")
    assert json.loads(keys.read_text()) == kept and len(kept) == 1


def test_bauplan_scripts_get_the_same_client(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    import bauplan

    monkeypatch.setenv("BAYOU_REMOTE", server.url)
    monkeypatch.setenv("BAUPLAN_API_KEY", server.key)
    client = bauplan.Client()
    assert isinstance(client, bayou.Client)
    assert client.query("SELECT COUNT(*) AS n FROM trips").num_rows == 1
    assert bauplan.exceptions.BauplanError is exc.BauplanError


def _project(server: Server, name: str, files: dict[str, str]) -> str:
    project = server.home / name
    project.mkdir()
    (project / "bayou_project.yml").write_text(f"project:\n  name: {name}\n")
    for path, text in files.items():
        (project / path).write_text(text)
    return str(project)


def test_a_run_returns_its_state_and_never_raises_on_failure(client: bayou.Client, server: Server) -> None:
    ok = _project(server, "ok", {"doubled.sql": "-- bayou: materialization_strategy=REPLACE\nSELECT id, miles * 2 AS miles FROM trips\n"})
    state = client.run(ok, ref="main")
    assert state.job_status == "SUCCESS" and state.error is None, state
    assert client.query("SELECT COUNT(*) AS n FROM doubled").column("n")[0].as_py() >= 3
    context = client.get_job_context(state.job_id)
    assert "doubled.sql" in context.files and context.code_hash
    before = client.get_branch("main").hash
    bad = _project(server, "bad", {"broken.sql": "-- bayou: materialization_strategy=REPLACE\nSELECT nope FROM trips\n"})
    failed = client.run(bad, ref="main")
    assert failed.job_status == "FAILED" and "nope" in (failed.error or ""), failed
    assert client.get_branch("main").hash == before, "a failed run leaves the target as it was"
    broken = _project(server, "broken", {"m.sql": "-- bayou: materialization_strategy=NOPE\nSELECT 1\n"})
    refused = client.run(broken, ref="main")
    assert refused.job_status == "FAILED" and "m.sql" in (refused.error or ""), refused
    detached = client.run(ok, ref="main", detach=True)
    assert detached.job_status == "RUNNING" and detached.job_id
    assert client.get_job(detached.job_id).id == detached.job_id


def test_tables_are_made_and_fed_from_local_files(client: bayou.Client, server: Server) -> None:
    client.create_namespace("raw_py")
    first = server.csv("fares/jan.csv", "id,fare\n1,2.5\n")
    made = client.create_table("fares", first, branch="main", namespace="raw_py")
    assert made.fqn == "raw_py.fares" and made.records == 1
    again = client.import_data("raw_py.fares", first)
    assert again.rows_written == 0 and "has it already" in again.notes[0]
    second = server.csv("fares/feb.csv", "id,fare\n2,3.0\n3,4.0\n")
    fed = client.import_data("fares", second, namespace="raw_py")
    assert fed.rows_written == 2 and fed.commit and fed.job_status == "SUCCESS"
    history = client.get_table("raw_py.fares").snapshot_history
    assert [(s.operation, s.added_records, s.total_records) for s in history] == [("append", 2, 3), ("overwrite", 1, 1)]
    assert history[0].parent_id == history[1].snapshot_id
    plan = {
        "table": "raw_py.typed_fares",
        "search_uri": str(server.home / "fares"),
        "columns": [{"name": "id", "type": "Int64"}, {"name": "fare", "type": "Utf8"}],
    }
    typed = client.apply_table_creation_plan(plan).table
    assert typed.records == 3 and [f.type for f in typed.fields] == ["Int64", "Utf8"]
    # Local files are planned too (sent to be surveyed): files that disagree on a column's
    # type make a plan with a conflict, resolved in its text and applied.
    server.csv("mixed/a.csv", "id,code\n1,7\n")
    server.csv("mixed/b.csv", "id,code\n2,x7\n")
    planned = client.plan_table_creation("codes", str(server.home / "mixed"), namespace="raw_py")
    assert planned.job_status == "SUCCESS" and not planned.can_auto_apply
    as_read = planned.plan_dict()
    assert [c["column"] for c in as_read["conflicts"]] == ["code"]
    with pytest.raises(exc.BauplanError, match="unresolved conflict"):
        client.apply_table_creation_plan(planned)
    with pytest.raises(exc.BauplanError, match="disagree"):
        client.create_table("raw_py.codes", str(server.home / "mixed"))
    # Resolved as the conflict says: the column's type set, the conflict deleted.
    next(c for c in as_read["columns"] if c["name"] == "code")["type"] = "Utf8"
    as_read["conflicts"] = []
    applied = client.apply_table_creation_plan(json.dumps(as_read))
    assert applied.job_status == "SUCCESS" and applied.table.records == 2
    with pytest.raises(exc.BauplanError, match="exists"):
        client.create_table("raw_py.fares", first)


def test_the_scheduled_pipeline_example_publishes_only_what_passed(server: Server, client: bayou.Client) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "scheduled_pipeline.py"
    project = _project(server, "nightly", {"busy.sql": "-- bayou: materialization_strategy=REPLACE\nSELECT zone, COUNT(*) AS n FROM trips GROUP BY zone\n"})
    env = {**os.environ, "BAYOU_REMOTE": server.url, "BAYOU_API_KEY": server.key}
    new = server.csv("nightly/new.csv", "id,miles,zone\n50,5.0,q\n")
    done = subprocess.run([sys.executable, str(example), project, new, "trips"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert client.query("SELECT n FROM busy WHERE zone = 'q'", ref="main").column("n")[0].as_py() == 1
    assert not [b for b in client.get_branches(name="scheduled_")]
    # A project that fails its run leaves main as it was.
    before = client.get_branch("main").hash
    broken = _project(server, "nightly_bad", {"busy.sql": "-- bayou: materialization_strategy=REPLACE\nSELECT missing FROM trips\n"})
    newer = server.csv("nightly/newer.csv", "id,miles,zone\n51,5.0,r\n")
    failed = subprocess.run([sys.executable, str(example), broken, newer, "trips"], env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and "main unchanged" in failed.stderr, failed.stderr
    assert client.get_branch("main").hash == before


def test_errors_while_rows_stream_and_bad_paths_are_typed(client: bayou.Client) -> None:
    with pytest.raises(exc.BauplanError) as failed:
        client.query("SELECT CAST(zone AS INT) AS v FROM trips")
    assert not isinstance(failed.value, exc.UnavailableError)
    with pytest.raises(exc.InvalidArgumentError, match="no such file"):
        client.import_data("trips", "/no/such/dir/x.csv")
    with pytest.raises(exc.InvalidArgumentError, match="comments or subqueries"):
        client.scan("trips", filters="1=1 /*'*/) UNION SELECT * FROM x WHERE (/*'*/ 1=1")
    with pytest.raises(exc.InvalidArgumentError):
        client.scan("trips", filters="id IN (SELECT id FROM trips)")
    assert issubclass(exc.InvalidArgumentError, ValueError)
    from bauplan.exceptions import BauplanError, UpdateConflictError

    assert BauplanError is exc.BauplanError and UpdateConflictError is exc.BranchHeadChangedError


def test_history_pages_and_outputs_respect_max_rows(
    client: bayou.Client, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    everything = [c.hash for c in client.get_commits("main")]
    import bayou.client as client_module

    monkeypatch.setattr(client_module, "_PAGE", 2)
    assert [c.hash for c in client.get_commits("main")] == everything
    assert [c.hash for c in client.get_commits("main", limit=3)] == everything[:3]
    mine = list(client.get_commits("main", filter_by_author_username="tester", limit=2))
    assert len(mine) == 2 and all(c.author == "tester" for c in mine)
    rows = list(client.query_to_generator("SELECT id FROM trips ORDER BY id", max_rows=2))
    assert rows == [{"id": 1}, {"id": 2}]
    out = client.query_to_json_file(tmp_path / "t.json", "SELECT id FROM trips ORDER BY id", max_rows=2)
    assert json.loads(out.read_text()) == [{"id": 1}, {"id": 2}]
    assert client.query("SELECT id FROM trips", max_rows=1).num_rows == 1
