from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RefKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REF_KIND_UNSPECIFIED: _ClassVar[RefKind]
    REF_KIND_BRANCH: _ClassVar[RefKind]
    REF_KIND_TAG: _ClassVar[RefKind]
REF_KIND_UNSPECIFIED: RefKind
REF_KIND_BRANCH: RefKind
REF_KIND_TAG: RefKind

class Ref(_message.Message):
    __slots__ = ("name", "kind", "head")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: RefKind
    head: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[RefKind, str]] = ..., head: _Optional[str] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class ActiveBranchRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ActiveBranchResponse(_message.Message):
    __slots__ = ("branch",)
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    branch: str
    def __init__(self, branch: _Optional[str] = ...) -> None: ...

class ListRefsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRefsResponse(_message.Message):
    __slots__ = ("refs",)
    REFS_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedCompositeFieldContainer[Ref]
    def __init__(self, refs: _Optional[_Iterable[_Union[Ref, _Mapping]]] = ...) -> None: ...

class ResolveRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: str
    def __init__(self, spec: _Optional[str] = ...) -> None: ...

class Resolved(_message.Message):
    __slots__ = ("commit", "reference")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    commit: str
    reference: Ref
    def __init__(self, commit: _Optional[str] = ..., reference: _Optional[_Union[Ref, _Mapping]] = ...) -> None: ...

class CreateRefRequest(_message.Message):
    __slots__ = ("name", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: RefKind
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[RefKind, str]] = ..., **kwargs) -> None: ...

class DeleteRefRequest(_message.Message):
    __slots__ = ("name", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: RefKind
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[RefKind, str]] = ...) -> None: ...

class RenameBranchRequest(_message.Message):
    __slots__ = ("to",)
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    to: str
    def __init__(self, to: _Optional[str] = ..., **kwargs) -> None: ...

class RenameBranchResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TableState(_message.Message):
    __slots__ = ("metadata_location", "snapshot_id")
    METADATA_LOCATION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    metadata_location: str
    snapshot_id: int
    def __init__(self, metadata_location: _Optional[str] = ..., snapshot_id: _Optional[int] = ...) -> None: ...

class TableEntry(_message.Message):
    __slots__ = ("namespace", "name", "state")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    state: TableState
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[TableState, _Mapping]] = ...) -> None: ...

class ListTablesRequest(_message.Message):
    __slots__ = ("commit",)
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    commit: str
    def __init__(self, commit: _Optional[str] = ...) -> None: ...

class ListTablesResponse(_message.Message):
    __slots__ = ("tables",)
    TABLES_FIELD_NUMBER: _ClassVar[int]
    tables: _containers.RepeatedCompositeFieldContainer[TableEntry]
    def __init__(self, tables: _Optional[_Iterable[_Union[TableEntry, _Mapping]]] = ...) -> None: ...

class DiffEntry(_message.Message):
    __slots__ = ("namespace", "name", "to")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    to: TableState
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., to: _Optional[_Union[TableState, _Mapping]] = ..., **kwargs) -> None: ...

class DiffRequest(_message.Message):
    __slots__ = ("a", "b")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    a: str
    b: str
    def __init__(self, a: _Optional[str] = ..., b: _Optional[str] = ...) -> None: ...

class DiffResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[DiffEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[DiffEntry, _Mapping]]] = ...) -> None: ...

class Operation(_message.Message):
    __slots__ = ("namespace", "name", "put")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    put: TableState
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., put: _Optional[_Union[TableState, _Mapping]] = ...) -> None: ...

class Commit(_message.Message):
    __slots__ = ("id", "parents", "generation", "tree", "author", "message", "time_ms", "properties", "operations")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    TREE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    parents: _containers.RepeatedScalarFieldContainer[str]
    generation: int
    tree: str
    author: str
    message: str
    time_ms: int
    properties: _containers.ScalarMap[str, str]
    operations: _containers.RepeatedCompositeFieldContainer[Operation]
    def __init__(self, id: _Optional[str] = ..., parents: _Optional[_Iterable[str]] = ..., generation: _Optional[int] = ..., tree: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., time_ms: _Optional[int] = ..., properties: _Optional[_Mapping[str, str]] = ..., operations: _Optional[_Iterable[_Union[Operation, _Mapping]]] = ...) -> None: ...

class LogRequest(_message.Message):
    __slots__ = ("at", "limit", "after")
    AT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    at: str
    limit: int
    after: str
    def __init__(self, at: _Optional[str] = ..., limit: _Optional[int] = ..., after: _Optional[str] = ...) -> None: ...

class LogResponse(_message.Message):
    __slots__ = ("commits",)
    COMMITS_FIELD_NUMBER: _ClassVar[int]
    commits: _containers.RepeatedCompositeFieldContainer[Commit]
    def __init__(self, commits: _Optional[_Iterable[_Union[Commit, _Mapping]]] = ...) -> None: ...

class Namespace(_message.Message):
    __slots__ = ("name", "created_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    created_ms: int
    def __init__(self, name: _Optional[str] = ..., created_ms: _Optional[int] = ...) -> None: ...

class ListNamespacesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNamespacesResponse(_message.Message):
    __slots__ = ("namespaces",)
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    namespaces: _containers.RepeatedCompositeFieldContainer[Namespace]
    def __init__(self, namespaces: _Optional[_Iterable[_Union[Namespace, _Mapping]]] = ...) -> None: ...

class CreateNamespaceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateNamespaceResponse(_message.Message):
    __slots__ = ("created",)
    CREATED_FIELD_NUMBER: _ClassVar[int]
    created: bool
    def __init__(self, created: _Optional[bool] = ...) -> None: ...

class DeleteNamespaceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteNamespaceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryTicket(_message.Message):
    __slots__ = ("commit", "sql")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    SQL_FIELD_NUMBER: _ClassVar[int]
    commit: str
    sql: str
    def __init__(self, commit: _Optional[str] = ..., sql: _Optional[str] = ...) -> None: ...

class HasCodeRequest(_message.Message):
    __slots__ = ("code_hash",)
    CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    code_hash: str
    def __init__(self, code_hash: _Optional[str] = ...) -> None: ...

class HasCodeResponse(_message.Message):
    __slots__ = ("present",)
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    present: bool
    def __init__(self, present: _Optional[bool] = ...) -> None: ...

class ProjectFile(_message.Message):
    __slots__ = ("path", "text")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    path: str
    text: str
    def __init__(self, path: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class RunRequest(_message.Message):
    __slots__ = ("code_hash", "files", "spec_json", "detach")
    CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    code_hash: str
    files: _containers.RepeatedCompositeFieldContainer[ProjectFile]
    spec_json: bytes
    detach: bool
    def __init__(self, code_hash: _Optional[str] = ..., files: _Optional[_Iterable[_Union[ProjectFile, _Mapping]]] = ..., spec_json: _Optional[bytes] = ..., detach: _Optional[bool] = ...) -> None: ...

class RunUpdate(_message.Message):
    __slots__ = ("update_json",)
    UPDATE_JSON_FIELD_NUMBER: _ClassVar[int]
    update_json: bytes
    def __init__(self, update_json: _Optional[bytes] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("record_json",)
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    record_json: bytes
    def __init__(self, record_json: _Optional[bytes] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("limit", "status", "user", "kind", "branch")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    limit: int
    status: str
    user: str
    kind: str
    branch: str
    def __init__(self, limit: _Optional[int] = ..., status: _Optional[str] = ..., user: _Optional[str] = ..., kind: _Optional[str] = ..., branch: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("records_json",)
    RECORDS_JSON_FIELD_NUMBER: _ClassVar[int]
    records_json: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, records_json: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetActiveBranchRequest(_message.Message):
    __slots__ = ("branch",)
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    branch: str
    def __init__(self, branch: _Optional[str] = ...) -> None: ...

class SetActiveBranchResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MergeRequest(_message.Message):
    __slots__ = ("source", "into")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INTO_FIELD_NUMBER: _ClassVar[int]
    source: str
    into: str
    def __init__(self, source: _Optional[str] = ..., into: _Optional[str] = ...) -> None: ...

class MergeResponse(_message.Message):
    __slots__ = ("result", "head", "combined", "tables_changed")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    COMBINED_FIELD_NUMBER: _ClassVar[int]
    TABLES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    result: str
    head: str
    combined: _containers.RepeatedScalarFieldContainer[str]
    tables_changed: int
    def __init__(self, result: _Optional[str] = ..., head: _Optional[str] = ..., combined: _Optional[_Iterable[str]] = ..., tables_changed: _Optional[int] = ...) -> None: ...

class TableInfoRequest(_message.Message):
    __slots__ = ("reference", "namespace", "name")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    reference: str
    namespace: str
    name: str
    def __init__(self, reference: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ("name", "data_type", "nullable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    data_type: str
    nullable: bool
    def __init__(self, name: _Optional[str] = ..., data_type: _Optional[str] = ..., nullable: _Optional[bool] = ...) -> None: ...

class TableInfoResponse(_message.Message):
    __slots__ = ("table", "reference", "rows", "data_files", "size_bytes", "snapshot_id", "metadata_location", "table_uuid", "partitioning", "columns", "snapshots")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    DATA_FILES_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_LOCATION_FIELD_NUMBER: _ClassVar[int]
    TABLE_UUID_FIELD_NUMBER: _ClassVar[int]
    PARTITIONING_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    table: str
    reference: str
    rows: int
    data_files: int
    size_bytes: int
    snapshot_id: int
    metadata_location: str
    table_uuid: str
    partitioning: str
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    snapshots: _containers.RepeatedCompositeFieldContainer[TableSnapshot]
    def __init__(self, table: _Optional[str] = ..., reference: _Optional[str] = ..., rows: _Optional[int] = ..., data_files: _Optional[int] = ..., size_bytes: _Optional[int] = ..., snapshot_id: _Optional[int] = ..., metadata_location: _Optional[str] = ..., table_uuid: _Optional[str] = ..., partitioning: _Optional[str] = ..., columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., snapshots: _Optional[_Iterable[_Union[TableSnapshot, _Mapping]]] = ...) -> None: ...

class TableSnapshot(_message.Message):
    __slots__ = ("snapshot_id", "parent_id", "timestamp_ms", "operation", "added_records", "total_records")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    ADDED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RECORDS_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: int
    parent_id: int
    timestamp_ms: int
    operation: str
    added_records: int
    total_records: int
    def __init__(self, snapshot_id: _Optional[int] = ..., parent_id: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., operation: _Optional[str] = ..., added_records: _Optional[int] = ..., total_records: _Optional[int] = ...) -> None: ...

class DropTableRequest(_message.Message):
    __slots__ = ("branch", "namespace", "name")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    branch: str
    namespace: str
    name: str
    def __init__(self, branch: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RevertTableRequest(_message.Message):
    __slots__ = ("branch", "namespace", "name", "reference")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    branch: str
    namespace: str
    name: str
    reference: str
    def __init__(self, branch: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class CommitResponse(_message.Message):
    __slots__ = ("commit",)
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    commit: str
    def __init__(self, commit: _Optional[str] = ...) -> None: ...

class FollowRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RerunRequest(_message.Message):
    __slots__ = ("id", "detach", "publish")
    ID_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    id: str
    detach: bool
    publish: bool
    def __init__(self, id: _Optional[str] = ..., detach: _Optional[bool] = ..., publish: _Optional[bool] = ...) -> None: ...

class GetCodeRequest(_message.Message):
    __slots__ = ("code_hash",)
    CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    code_hash: str
    def __init__(self, code_hash: _Optional[str] = ...) -> None: ...

class GetCodeResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[ProjectFile]
    def __init__(self, files: _Optional[_Iterable[_Union[ProjectFile, _Mapping]]] = ...) -> None: ...

class TableRequest(_message.Message):
    __slots__ = ("table", "branch", "partitioned_by", "replace")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    PARTITIONED_BY_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    table: str
    branch: str
    partitioned_by: str
    replace: bool
    def __init__(self, table: _Optional[str] = ..., branch: _Optional[str] = ..., partitioned_by: _Optional[str] = ..., replace: _Optional[bool] = ...) -> None: ...

class ImportRequest(_message.Message):
    __slots__ = ("table", "branch", "continue_on_error", "import_duplicate_files", "best_effort")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    IMPORT_DUPLICATE_FILES_FIELD_NUMBER: _ClassVar[int]
    BEST_EFFORT_FIELD_NUMBER: _ClassVar[int]
    table: str
    branch: str
    continue_on_error: bool
    import_duplicate_files: bool
    best_effort: bool
    def __init__(self, table: _Optional[str] = ..., branch: _Optional[str] = ..., continue_on_error: _Optional[bool] = ..., import_duplicate_files: _Optional[bool] = ..., best_effort: _Optional[bool] = ...) -> None: ...

class PlannedColumn(_message.Message):
    __slots__ = ("name", "type", "in_files")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    IN_FILES_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    in_files: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., in_files: _Optional[_Iterable[str]] = ...) -> None: ...

class Conflict(_message.Message):
    __slots__ = ("column", "types", "resolve")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_FIELD_NUMBER: _ClassVar[int]
    column: str
    types: _containers.RepeatedScalarFieldContainer[str]
    resolve: str
    def __init__(self, column: _Optional[str] = ..., types: _Optional[_Iterable[str]] = ..., resolve: _Optional[str] = ...) -> None: ...

class TablePlan(_message.Message):
    __slots__ = ("table", "search_uri", "branch", "partitioned_by", "replace", "columns", "conflicts")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    SEARCH_URI_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    PARTITIONED_BY_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    table: str
    search_uri: str
    branch: str
    partitioned_by: str
    replace: bool
    columns: _containers.RepeatedCompositeFieldContainer[PlannedColumn]
    conflicts: _containers.RepeatedCompositeFieldContainer[Conflict]
    def __init__(self, table: _Optional[str] = ..., search_uri: _Optional[str] = ..., branch: _Optional[str] = ..., partitioned_by: _Optional[str] = ..., replace: _Optional[bool] = ..., columns: _Optional[_Iterable[_Union[PlannedColumn, _Mapping]]] = ..., conflicts: _Optional[_Iterable[_Union[Conflict, _Mapping]]] = ...) -> None: ...

class PlanTableRequest(_message.Message):
    __slots__ = ("request", "search_uri")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    SEARCH_URI_FIELD_NUMBER: _ClassVar[int]
    request: TableRequest
    search_uri: str
    def __init__(self, request: _Optional[_Union[TableRequest, _Mapping]] = ..., search_uri: _Optional[str] = ...) -> None: ...

class SentFile(_message.Message):
    __slots__ = ("origin", "size")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    origin: str
    size: int
    def __init__(self, origin: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class WriteTableStart(_message.Message):
    __slots__ = ("create", "apply", "plan", "search_uri", "files")
    CREATE_FIELD_NUMBER: _ClassVar[int]
    APPLY_FIELD_NUMBER: _ClassVar[int]
    IMPORT_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SEARCH_URI_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    create: TableRequest
    apply: TablePlan
    plan: TableRequest
    search_uri: str
    files: _containers.RepeatedCompositeFieldContainer[SentFile]
    def __init__(self, create: _Optional[_Union[TableRequest, _Mapping]] = ..., apply: _Optional[_Union[TablePlan, _Mapping]] = ..., plan: _Optional[_Union[TableRequest, _Mapping]] = ..., search_uri: _Optional[str] = ..., files: _Optional[_Iterable[_Union[SentFile, _Mapping]]] = ..., **kwargs) -> None: ...

class WriteTableInput(_message.Message):
    __slots__ = ("start", "chunk")
    START_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    start: WriteTableStart
    chunk: bytes
    def __init__(self, start: _Optional[_Union[WriteTableStart, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class WriteOutcome(_message.Message):
    __slots__ = ("table", "branch", "commit", "snapshot_id", "rows_written", "files_written", "metadata_location")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    ROWS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    FILES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    METADATA_LOCATION_FIELD_NUMBER: _ClassVar[int]
    table: str
    branch: str
    commit: str
    snapshot_id: int
    rows_written: int
    files_written: int
    metadata_location: str
    def __init__(self, table: _Optional[str] = ..., branch: _Optional[str] = ..., commit: _Optional[str] = ..., snapshot_id: _Optional[int] = ..., rows_written: _Optional[int] = ..., files_written: _Optional[int] = ..., metadata_location: _Optional[str] = ...) -> None: ...

class WriteProgress(_message.Message):
    __slots__ = ("done", "total")
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class Imported(_message.Message):
    __slots__ = ("outcome", "notes")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    outcome: WriteOutcome
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, outcome: _Optional[_Union[WriteOutcome, _Mapping]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class WriteTableOutput(_message.Message):
    __slots__ = ("progress", "written", "imported", "planned")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    progress: WriteProgress
    written: WriteOutcome
    imported: Imported
    planned: TablePlan
    def __init__(self, progress: _Optional[_Union[WriteProgress, _Mapping]] = ..., written: _Optional[_Union[WriteOutcome, _Mapping]] = ..., imported: _Optional[_Union[Imported, _Mapping]] = ..., planned: _Optional[_Union[TablePlan, _Mapping]] = ...) -> None: ...

class CreateExternalTableRequest(_message.Message):
    __slots__ = ("table", "branch", "metadata_json_uri", "search_patterns", "overwrite")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_URI_FIELD_NUMBER: _ClassVar[int]
    SEARCH_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    table: str
    branch: str
    metadata_json_uri: str
    search_patterns: _containers.RepeatedScalarFieldContainer[str]
    overwrite: bool
    def __init__(self, table: _Optional[str] = ..., branch: _Optional[str] = ..., metadata_json_uri: _Optional[str] = ..., search_patterns: _Optional[_Iterable[str]] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class EncryptSecretRequest(_message.Message):
    __slots__ = ("name", "plaintext")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    plaintext: str
    def __init__(self, name: _Optional[str] = ..., plaintext: _Optional[str] = ...) -> None: ...

class EncryptSecretResponse(_message.Message):
    __slots__ = ("ciphertext",)
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    ciphertext: str
    def __init__(self, ciphertext: _Optional[str] = ...) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = ("older_than_ms", "keep_runs_ms", "dry_run")
    OLDER_THAN_MS_FIELD_NUMBER: _ClassVar[int]
    KEEP_RUNS_MS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    older_than_ms: int
    keep_runs_ms: int
    dry_run: bool
    def __init__(self, older_than_ms: _Optional[int] = ..., keep_runs_ms: _Optional[int] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class RemovedFile(_message.Message):
    __slots__ = ("location", "bytes")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    location: str
    bytes: int
    def __init__(self, location: _Optional[str] = ..., bytes: _Optional[int] = ...) -> None: ...

class GarbageReport(_message.Message):
    __slots__ = ("dry_run", "run_branches", "commits", "files", "bytes", "young_kept", "reachable")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    RUN_BRANCHES_FIELD_NUMBER: _ClassVar[int]
    COMMITS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    YOUNG_KEPT_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    run_branches: _containers.RepeatedScalarFieldContainer[str]
    commits: _containers.RepeatedScalarFieldContainer[str]
    files: _containers.RepeatedCompositeFieldContainer[RemovedFile]
    bytes: int
    young_kept: int
    reachable: int
    def __init__(self, dry_run: _Optional[bool] = ..., run_branches: _Optional[_Iterable[str]] = ..., commits: _Optional[_Iterable[str]] = ..., files: _Optional[_Iterable[_Union[RemovedFile, _Mapping]]] = ..., bytes: _Optional[int] = ..., young_kept: _Optional[int] = ..., reachable: _Optional[int] = ...) -> None: ...

class CheckLakeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LakeCheck(_message.Message):
    __slots__ = ("refs", "commits", "table_versions", "files", "problems")
    REFS_FIELD_NUMBER: _ClassVar[int]
    COMMITS_FIELD_NUMBER: _ClassVar[int]
    TABLE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    refs: int
    commits: int
    table_versions: int
    files: int
    problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, refs: _Optional[int] = ..., commits: _Optional[int] = ..., table_versions: _Optional[int] = ..., files: _Optional[int] = ..., problems: _Optional[_Iterable[str]] = ...) -> None: ...
