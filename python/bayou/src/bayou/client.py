"""`Client`: a bayou lake from Python, with the method names and signatures of bauplan's SDK.

    import bayou                       # or: import bauplan; bauplan.Client()
    client = bayou.Client()            # BAYOU_REMOTE / BAYOU_API_KEY, or a profile
    table = client.query("SELECT COUNT(*) AS n FROM taxi_fhvhv", ref="main")

Query results arrive as Arrow record batches over Arrow Flight (no row-by-row conversion).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import pyarrow as pa

from . import _local, _runs, _settings, _writes
from . import exceptions as exc
from ._connection import Batches, Connection
from ._models import (
    Branch,
    Commit,
    Info,
    Job,
    Namespace,
    Ref,
    Table,
    TableField,
    TableSnapshot,
    TableWithMetadata,
    Tag,
    User,
)
from ._runs import JobContext, RunState
from ._states import (
    PlanLike,
    TableCreatePlanApplyState,
    TableCreatePlanState,
    TableDataImportState,
    read_plan,
    write_plan,
)
from .v1 import bayou_pb2 as pb

_BRANCH, _TAG = pb.REF_KIND_BRANCH, pb.REF_KIND_TAG
_BRANCH_ERRORS = {"unknown-ref": exc.BranchNotFoundError, "ref-exists": exc.BranchExistsError}
_TAG_ERRORS = {"unknown-ref": exc.TagNotFoundError, "ref-exists": exc.TagExistsError}
_MERGE_ERRORS = {"conflict": exc.MergeConflictError, "unknown-ref": exc.RefNotFoundError}
_NAMESPACE_ERRORS = {"ref-exists": exc.NamespaceExistsError}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

RefLike = Union[str, Ref]

# Commits read per call of the history.
_PAGE = 100


def _name(ref: Optional[RefLike]) -> Optional[str]:
    return ref.name if isinstance(ref, Ref) else ref


def _split(table: Union[str, Table], namespace: Optional[str] = None) -> tuple[str, str]:
    """(namespace, name) of `ns.name`, or of `name` in `namespace` (default: `bayou`)."""
    text = table.fqn if isinstance(table, Table) else table
    given, _, name = text.rpartition(".")
    given = given or namespace or ""
    if given in ("", "bauplan"):
        given = "bayou"
    return given, name


class Client:
    """A bayou server, reached with one API key (see `bayou._settings` for where they come
    from); with none configured, the machine's default lake (see `bayou._local`)."""

    def __init__(
        self,
        profile: Optional[str] = None,
        api_key: Optional[str] = None,
        remote: Optional[str] = None,
        ca_cert: Optional[str] = None,
        **_bauplan_options: Any,
    ) -> None:
        settings = _settings.resolve(profile, api_key, remote, ca_cert)
        self.profile = settings.profile
        self._local: Optional[_local.LocalServer] = None
        if settings.remote is not None:
            self._conn = Connection(settings.remote, settings.api_key, settings.ca_cert)
            return
        # No server configured: the machine's default lake, served by a child `bayou server`.
        self._local = _local.LocalServer()
        try:
            key = _local.stored_key(self._local.lake)
            self._conn = Connection(self._local.url, key)
            if key is None or not self._authenticates():
                self._conn.close()
                self._conn = Connection(self._local.url, self._local.new_key())
        except BaseException:
            self._local.stop()
            raise

    def _authenticates(self) -> bool:
        try:
            self._conn.call("WhoAmI", pb.WhoAmIRequest())
            return True
        except exc.UnauthorizedError:
            return False

    def close(self) -> None:
        self._conn.close()
        if self._local is not None:
            self._local.stop()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # -- who and where ------------------------------------------------------------------------

    def info(self) -> Info:
        """The server, the key's user (`info().user.username`) and their active branch."""
        user = self._conn.call("WhoAmI", pb.WhoAmIRequest()).user
        return Info(remote=self._conn.url, user=User(user), active_branch=self._active())

    def _active(self) -> str:
        return str(self._conn.call("ActiveBranch", pb.ActiveBranchRequest()).branch)

    def _commit(self, ref: Optional[RefLike]) -> str:
        """The commit id `ref` (a branch, tag or commit; the active branch if None) names."""
        spec = _name(ref) or self._active()
        return str(self._conn.call("Resolve", pb.ResolveRequest(spec=spec)).commit)

    # -- queries ------------------------------------------------------------------------------

    def _batches(self, query: str, ref: Optional[RefLike]) -> Batches:
        return self._conn.query(self._commit(ref), query)

    def query(
        self,
        query: str,
        ref: Optional[RefLike] = None,
        max_rows: Optional[int] = None,
        **_bauplan_options: Any,
    ) -> pa.Table:
        """The rows of a SQL query over the tables of `ref` (default: the active branch)."""
        return self._batches(query, ref).read(max_rows)

    def query_to_generator(
        self,
        query: str,
        ref: Optional[RefLike] = None,
        max_rows: Optional[int] = None,
        **_bauplan_options: Any,
    ) -> Iterator[dict[str, Any]]:
        """The rows of a query one dict at a time, read batch by batch."""
        left = max_rows
        for batch in self._batches(query, ref):
            rows = batch.to_pylist()
            if left is not None:
                rows, left = rows[:left], left - min(left, len(rows))
            yield from rows
            if left == 0:
                return

    def query_to_parquet_file(
        self,
        path: Union[str, Path],
        query: str,
        ref: Optional[RefLike] = None,
        max_rows: Optional[int] = None,
        **_: Any,
    ) -> Path:
        import pyarrow.parquet as pq

        return self._to_file(pq.ParquetWriter, path, query, ref, max_rows)

    def query_to_csv_file(
        self,
        path: Union[str, Path],
        query: str,
        ref: Optional[RefLike] = None,
        max_rows: Optional[int] = None,
        **_: Any,
    ) -> Path:
        import pyarrow.csv as csv

        return self._to_file(csv.CSVWriter, path, query, ref, max_rows)

    def _to_file(
        self,
        writer_class: Any,
        path: Union[str, Path],
        query: str,
        ref: Optional[RefLike],
        max_rows: Optional[int],
    ) -> Path:
        """Writes a query's rows (the first `max_rows`, if given) with an Arrow file writer."""
        batches = self._batches(query, ref)
        with writer_class(str(path), batches.schema) as writer:
            if max_rows is not None:
                writer.write_table(batches.read(max_rows))
            else:
                for batch in batches:
                    writer.write_batch(batch)
        return Path(path)

    def query_to_json_file(
        self,
        path: Union[str, Path],
        query: str,
        ref: Optional[RefLike] = None,
        max_rows: Optional[int] = None,
        file_format: str = "json",
        **_: Any,
    ) -> Path:
        """The rows as one JSON array (`file_format="json"`) or a line each (`"jsonl"`)."""
        if file_format not in ("json", "jsonl"):
            raise exc.InvalidArgumentError(f"file_format is json or jsonl, not '{file_format}'")
        rows = self.query_to_generator(query, ref, max_rows)
        with open(path, "w", encoding="utf-8") as f:
            if file_format == "jsonl":
                for row in rows:
                    f.write(json.dumps(row, default=str) + "\n")
            else:
                json.dump(list(rows), f, default=str)
        return Path(path)

    def scan(
        self,
        table: Union[str, Table],
        ref: Optional[RefLike] = None,
        columns: Optional[Sequence[str]] = None,
        filters: Optional[str] = None,
        limit: Optional[int] = None,
        namespace: Optional[str] = None,
        **_bauplan_options: Any,
    ) -> pa.Table:
        """A table's rows: some `columns`, those matching `filters` (a SQL condition)."""
        namespace, name = _split(table, namespace)
        for ident in [namespace, name, *(columns or [])]:
            if not _IDENTIFIER.match(ident):
                raise exc.InvalidArgumentError(f"'{ident}' is no column or table name")
        selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f'SELECT {selected} FROM "{namespace}"."{name}"'
        if filters:
            sql += f" WHERE ({_condition(filters)})"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.query(sql, ref)

    # -- branches and tags --------------------------------------------------------------------

    def _refs(self, kind: int) -> list[pb.Ref]:
        refs = self._conn.call("ListRefs", pb.ListRefsRequest()).refs
        return [r for r in refs if r.kind == kind]

    def get_branches(
        self,
        name: Optional[str] = None,
        user: Optional[str] = None,
        limit: Optional[int] = None,
        **_: Any,
    ) -> Iterator[Branch]:
        found = (
            Branch(r.name, r.head)
            for r in self._refs(_BRANCH)
            if (name is None or name in r.name) and (user is None or r.name.startswith(f"{user}."))
        )
        for i, branch in enumerate(found):
            if limit is not None and i >= limit:
                return
            yield branch

    def get_branch(self, branch: RefLike) -> Branch:
        name = _name(branch) or ""
        for r in self._refs(_BRANCH):
            if r.name == name:
                return Branch(r.name, r.head)
        raise exc.BranchNotFoundError(f"no branch '{name}'")

    def has_branch(self, branch: RefLike) -> bool:
        return any(r.name == _name(branch) for r in self._refs(_BRANCH))

    def create_branch(
        self, branch: RefLike, from_ref: RefLike, if_not_exists: bool = False
    ) -> Branch:
        name = _name(branch) or ""
        if if_not_exists and self.has_branch(name):
            return self.get_branch(name)
        request = pb.CreateRefRequest(name=name, kind=_BRANCH, **{"from": _name(from_ref)})
        made = self._conn.call("CreateRef", request, _BRANCH_ERRORS)
        return Branch(made.name, made.head)

    def delete_branch(self, branch: RefLike, if_exists: bool = False) -> bool:
        if if_exists and not self.has_branch(branch):
            return False
        request = pb.DeleteRefRequest(name=_name(branch), kind=_BRANCH)
        self._conn.call("DeleteRef", request, _BRANCH_ERRORS)
        return True

    def rename_branch(self, branch: RefLike, new_branch: str) -> Branch:
        request = pb.RenameBranchRequest(**{"from": _name(branch), "to": new_branch})
        self._conn.call("RenameBranch", request, _BRANCH_ERRORS)
        return self.get_branch(new_branch)

    def merge_branch(
        self, source_ref: RefLike, into_branch: RefLike, **_bauplan_options: Any
    ) -> Branch:
        """Merges any ref into a branch (fast-forward, or a merge commit); returns the branch."""
        request = pb.MergeRequest(source=_name(source_ref), into=_name(into_branch))
        self._conn.call("Merge", request, _MERGE_ERRORS)
        return self.get_branch(into_branch)

    def get_tags(
        self,
        filter_by_name: Optional[str] = None,
        limit: Optional[int] = None,
        name: Optional[str] = None,
    ) -> Iterator[Tag]:
        wanted = filter_by_name or name
        tags = [Tag(r.name, r.head) for r in self._refs(_TAG) if wanted is None or wanted in r.name]
        yield from tags[:limit]

    def get_tag(self, tag: RefLike) -> Tag:
        for t in self.get_tags():
            if t.name == _name(tag):
                return t
        raise exc.TagNotFoundError(f"no tag '{_name(tag)}'")

    def has_tag(self, tag: RefLike) -> bool:
        return any(t.name == _name(tag) for t in self.get_tags())

    def create_tag(self, tag: RefLike, from_ref: RefLike, if_not_exists: bool = False) -> Tag:
        if if_not_exists and self.has_tag(tag):
            return self.get_tag(tag)
        request = pb.CreateRefRequest(name=_name(tag), kind=_TAG, **{"from": _name(from_ref)})
        made = self._conn.call("CreateRef", request, _TAG_ERRORS)
        return Tag(made.name, made.head)

    def delete_tag(self, tag: RefLike, if_exists: bool = False) -> bool:
        if if_exists and not self.has_tag(tag):
            return False
        self._conn.call("DeleteRef", pb.DeleteRefRequest(name=_name(tag), kind=_TAG), _TAG_ERRORS)
        return True

    # -- namespaces and tables ----------------------------------------------------------------

    def get_namespaces(self, ref: Optional[RefLike] = None, **_: Any) -> Iterator[Namespace]:
        for n in self._conn.call("ListNamespaces", pb.ListNamespacesRequest()).namespaces:
            yield Namespace(n.name)

    def has_namespace(self, namespace: str, ref: Optional[RefLike] = None) -> bool:
        return any(n.name == namespace for n in self.get_namespaces())

    def create_namespace(
        self,
        namespace: str,
        branch: Optional[RefLike] = None,
        commit_body: Optional[str] = None,
        if_not_exists: bool = False,
    ) -> Namespace:
        """Makes a namespace (namespaces are the lake's, not a branch's: `branch` and
        `commit_body` are accepted for bauplan scripts)."""
        made = self._conn.call(
            "CreateNamespace", pb.CreateNamespaceRequest(name=namespace), _NAMESPACE_ERRORS
        )
        if not made.created and not if_not_exists:
            raise exc.NamespaceExistsError(f"namespace '{namespace}' exists already")
        return Namespace(namespace)

    def delete_namespace(
        self, namespace: str, branch: Optional[RefLike] = None, if_exists: bool = False
    ) -> bool:
        if if_exists and not self.has_namespace(namespace):
            return False
        self._conn.call("DeleteNamespace", pb.DeleteNamespaceRequest(name=namespace))
        return True

    def get_tables(
        self,
        ref: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        filter_by_name: Optional[str] = None,
        limit: Optional[int] = None,
        filter_by_namespace: Optional[str] = None,
    ) -> Iterator[Table]:
        namespace = namespace or filter_by_namespace
        entries = self._conn.call("ListTables", pb.ListTablesRequest(commit=self._commit(ref)))
        tables = [
            Table(t.name, t.namespace)
            for t in entries.tables
            if (namespace is None or t.namespace == namespace)
            and (filter_by_name is None or filter_by_name in t.name)
        ]
        yield from tables[:limit]

    def get_table(
        self,
        table: Union[str, Table],
        ref: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        **_bauplan_options: Any,
    ) -> TableWithMetadata:
        namespace, name = _split(table, namespace)
        reference = _name(ref) or self._active()
        info = self._conn.call(
            "TableInfo", pb.TableInfoRequest(reference=reference, namespace=namespace, name=name)
        )
        return TableWithMetadata(
            name=name,
            namespace=namespace,
            id=info.table_uuid,
            records=info.rows,
            files=info.data_files,
            size=info.size_bytes,
            snapshot_id=info.snapshot_id if info.HasField("snapshot_id") else None,
            metadata_location=info.metadata_location,
            partitions=tuple(info.partitioning.split(", ")) if info.HasField("partitioning") else (),
            fields=tuple(TableField(c.name, c.data_type, not c.nullable) for c in info.columns),
            snapshot_history=tuple(
                TableSnapshot(
                    snapshot_id=s.snapshot_id,
                    parent_id=s.parent_id if s.HasField("parent_id") else None,
                    timestamp_ms=s.timestamp_ms,
                    operation=s.operation,
                    added_records=s.added_records,
                    total_records=s.total_records,
                )
                for s in info.snapshots
            ),
        )

    def has_table(
        self,
        table: Union[str, Table],
        ref: Optional[RefLike] = None,
        namespace: Optional[str] = None,
    ) -> bool:
        try:
            self.get_table(table, ref, namespace)
            return True
        except exc.TableNotFoundError:
            return False

    def delete_table(
        self,
        table: Union[str, Table],
        branch: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        if_exists: bool = False,
        **_bauplan_options: Any,
    ) -> Branch:
        on = _name(branch) or self._active()
        if if_exists and not self.has_table(table, on, namespace):
            return self.get_branch(on)
        namespace, name = _split(table, namespace)
        self._conn.call("DropTable", pb.DropTableRequest(branch=on, namespace=namespace, name=name))
        return self.get_branch(on)

    def revert_table(
        self,
        table: Union[str, Table],
        source_ref: RefLike,
        into_branch: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        **_bauplan_options: Any,
    ) -> Branch:
        on = _name(into_branch) or self._active()
        namespace, name = _split(table, namespace)
        request = pb.RevertTableRequest(
            branch=on, namespace=namespace, name=name, reference=_name(source_ref)
        )
        self._conn.call("RevertTable", request)
        return self.get_branch(on)

    # -- tables made of files -----------------------------------------------------------------

    def _write(self, start: dict[str, Any], search_uri: str) -> pb.WriteTableOutput:
        # Local files are listed here, so that a bad path is this call's error, not gRPC's.
        files = [] if search_uri.startswith("s3://") else _writes.local_files(search_uri)
        outputs = self._conn.stream("WriteTable", _writes.inputs(start, search_uri, files))
        return _writes.answer(outputs)

    def create_table(
        self,
        table: str,
        search_uri: str,
        branch: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        partitioned_by: Optional[str] = None,
        replace: bool = False,
        **_bauplan_options: Any,
    ) -> TableWithMetadata:
        """Makes a table of Parquet or CSV files: `s3://` objects the server reads, or local
        files (sent). Refused while the files disagree on a column's type."""
        name = _writes.qualified(table, namespace)
        request = pb.TableRequest(
            table=name, branch=_name(branch), partitioned_by=partitioned_by, replace=replace
        )
        written = self._write({"create": request}, search_uri).written
        return self.get_table(name, ref=written.branch)

    def plan_table_creation(
        self,
        table: str,
        search_uri: str,
        branch: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        partitioned_by: Optional[str] = None,
        replace: bool = False,
        **_bauplan_options: Any,
    ) -> TableCreatePlanState:
        """The plan for a table of files (`s3://` objects, or local files, which are sent to
        be surveyed): each column with the type it will be stored as, and the conflicts
        between files to resolve before `apply_table_creation_plan`. Nothing is written."""
        request = pb.TableRequest(
            table=_writes.qualified(table, namespace),
            branch=_name(branch),
            partitioned_by=partitioned_by,
            replace=replace,
        )
        planned = _writes.plan_of_wire(self._write({"plan": request}, search_uri).planned)
        return TableCreatePlanState(
            plan=write_plan(planned), can_auto_apply=not planned["conflicts"]
        )

    def apply_table_creation_plan(
        self, plan: PlanLike, **_bauplan_options: Any
    ) -> TableCreatePlanApplyState:
        """Makes the table of `plan` (a state, its text, or a dict; conflicts resolved), each
        column stored as it says."""
        wire = _writes.plan_to_wire(read_plan(plan))
        written = self._write({"apply": wire}, wire.search_uri).written
        return TableCreatePlanApplyState(table=self.get_table(wire.table, ref=written.branch))

    def import_data(
        self,
        table: str,
        search_uri: str,
        branch: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        continue_on_error: bool = False,
        import_duplicate_files: bool = False,
        best_effort: bool = False,
        **_bauplan_options: Any,
    ) -> TableDataImportState:
        """Appends the rows of files to a table, skipping files it holds already."""
        request = pb.ImportRequest(
            table=_writes.qualified(table, namespace),
            branch=_name(branch),
            continue_on_error=continue_on_error,
            import_duplicate_files=import_duplicate_files,
            best_effort=best_effort,
        )
        imported = self._write({"import": request}, search_uri).imported
        outcome = imported.outcome if imported.HasField("outcome") else None
        return TableDataImportState(
            rows_written=outcome.rows_written if outcome else 0,
            files_written=outcome.files_written if outcome else 0,
            commit=outcome.commit if outcome else None,
            notes=tuple(imported.notes),
        )

    # -- runs ----------------------------------------------------------------------------------

    def run(
        self,
        project_dir: str = ".",
        ref: Optional[RefLike] = None,
        namespace: Optional[str] = None,
        parameters: Optional[dict[str, Any]] = None,
        dry_run: bool = False,
        strict: Union[bool, str, None] = None,
        cache: Union[bool, str, None] = None,
        transaction: Union[bool, str, None] = None,
        preview: Union[bool, str, None] = None,
        args: Optional[dict[str, str]] = None,
        detach: bool = False,
        **_bauplan_options: Any,
    ) -> RunState:
        """Runs a project on the server (transform-audit-write into `ref`, default the active
        branch). A failed run, or a project with problems, is a state with `job_status`
        "FAILED" and its `error`, never an exception."""
        request = pb.RunRequest(
            code_hash="",
            files=[pb.ProjectFile(path=p, text=t) for p, t in _runs.project_files(project_dir)],
            spec_json=_runs.spec(
                _name(ref) or self._active(),
                namespace,
                parameters,
                dry_run,
                strict,
                cache,
                transaction,
                preview,
                args,
            ),
            detach=detach,
        )
        try:
            return _runs.follow(self._conn.stream("Run", request))
        except exc.ProjectError as e:
            return RunState(job_id=None, job_status="FAILED", error=str(e))

    # -- history and jobs ---------------------------------------------------------------------

    def get_commits(
        self,
        ref: Optional[RefLike] = None,
        filter_by_message: Optional[str] = None,
        filter_by_author_username: Optional[str] = None,
        filter_by_author_name: Optional[str] = None,
        filter_by_author_email: Optional[str] = None,
        limit: Optional[int] = None,
        filter_by_author: Optional[str] = None,
        **_bauplan_options: Any,
    ) -> Iterator[Commit]:
        """The first-parent history of `ref`, newest first, read page by page. Authors are
        bayou users (the API key's), matched by any of the author filters."""
        authors = {
            a
            for a in (
                filter_by_author,
                filter_by_author_username,
                filter_by_author_name,
                filter_by_author_email,
            )
            if a
        }
        at: Optional[str] = self._commit(ref)
        given = 0
        while at is not None and (limit is None or given < limit):
            page = self._conn.call("Log", pb.LogRequest(at=at, limit=_PAGE)).commits
            for c in page:
                if filter_by_message and filter_by_message not in c.message:
                    continue
                if authors and c.author not in authors:
                    continue
                if limit is not None and given >= limit:
                    return
                given += 1
                yield Commit(
                    hash=c.id,
                    message=c.message,
                    author=c.author,
                    authored_date=Commit.of_time_ms(c.time_ms),
                    parent_hashes=tuple(c.parents),
                    properties=dict(c.properties),
                )
            # The next page starts at the last one's first parent.
            at = page[-1].parents[0] if len(page) == _PAGE and page[-1].parents else None

    def get_jobs(
        self,
        limit: int = 100,
        status: Optional[str] = None,
        user: Optional[str] = None,
        kind: Optional[str] = None,
        **_: Any,
    ) -> Iterator[Job]:
        request = pb.ListRunsRequest(limit=limit, status=status, user=user, kind=kind)
        for record in self._conn.call("ListRuns", request).records_json:
            yield Job.of_record(json.loads(record))

    def get_job(self, job_id: str) -> Job:
        found = self._conn.call("GetRun", pb.GetRunRequest(id=job_id))
        if not found.HasField("record_json"):
            raise exc.JobNotFoundError(f"no job '{job_id}'\n  hint: list jobs with get_jobs()")
        return Job.of_record(json.loads(found.record_json))

    def get_job_logs(self, job_id: str) -> list[str]:
        """The log lines of a job's functions, each prefixed with its model's name."""
        lines = []
        for node in self.get_job(job_id).record.get("nodes", []):
            lines.extend(f"{node.get('name')} | {line}" for line in node.get("log", []))
        return lines

    def get_job_context(self, job_id: str) -> JobContext:
        """A job's record and the code snapshot it ran."""
        job = self.get_job(job_id)
        code_hash = str(job.record.get("code_hash", ""))
        files = self._conn.call("GetCode", pb.GetCodeRequest(code_hash=code_hash)).files
        return JobContext(
            id=job.id,
            code_hash=code_hash,
            files={f.path: f.text for f in files},
            record=job.record,
        )

    def cancel_job(self, job_id: str) -> None:
        self._conn.call("CancelRun", pb.CancelRunRequest(id=job_id))


def _condition(filters: str) -> str:
    """`filters` if it is one SQL condition: no statement separator, and no parenthesis
    outside a string literal that would close the `WHERE ( ... )` it is put in."""
    if re.search(r"--|/\*|\bselect\b", filters, re.IGNORECASE):
        raise exc.InvalidArgumentError(
            f"'{filters}' is not one condition on the table's columns (no comments or subqueries)"
        )
    depth, quote = 0, ""
    for ch in filters:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
        elif ch == ";":
            depth = -1
            break
    if depth != 0 or quote:
        raise exc.InvalidArgumentError(f"'{filters}' is not one condition on the table's columns")
    return filters
