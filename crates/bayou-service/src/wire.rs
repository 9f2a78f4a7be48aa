//! Conversions between the catalog's model and `bayou-proto` messages, and between [`Error`]
//! and gRPC statuses. The server and the client both use these, so the two sides cannot drift.

use std::collections::BTreeMap;

use bayou_catalog::{Commit, DiffEntry, Namespace, Operation, Ref, RefKind, Resolved, TableState};
use bayou_proto::v1 as pb;
use bayou_types::{CommitId, TableKey};

use crate::{Error, ErrorKind};

/// The metadata key a status carries its [`ErrorKind`] in.
const KIND_KEY: &str = "bayou-error-kind";

/// A malformed message from the other side.
fn invalid(what: &str) -> Error {
    Error::Remote {
        kind: ErrorKind::InvalidArgument,
        message: format!("malformed message from the other side: {what}"),
    }
}

pub fn ref_kind_to_wire(kind: RefKind) -> i32 {
    match kind {
        RefKind::Branch => pb::RefKind::Branch as i32,
        RefKind::Tag => pb::RefKind::Tag as i32,
    }
}

pub fn ref_kind_from_wire(kind: i32) -> Result<RefKind, Error> {
    match pb::RefKind::try_from(kind) {
        Ok(pb::RefKind::Branch) => Ok(RefKind::Branch),
        Ok(pb::RefKind::Tag) => Ok(RefKind::Tag),
        _ => Err(invalid("ref kind")),
    }
}

pub fn ref_to_wire(r: &Ref) -> pb::Ref {
    pb::Ref {
        name: r.name.clone(),
        kind: ref_kind_to_wire(r.kind),
        head: r.head.as_str().to_string(),
    }
}

pub fn ref_from_wire(r: pb::Ref) -> Result<Ref, Error> {
    Ok(Ref {
        kind: ref_kind_from_wire(r.kind)?,
        name: r.name,
        head: commit_id(r.head)?,
    })
}

/// A commit id from the wire: hex digits only (it may end up in paths and queries).
pub fn commit_id(text: String) -> Result<CommitId, Error> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("commit id"));
    }
    Ok(CommitId::from_hex(text))
}

pub fn resolved_to_wire(r: &Resolved) -> pb::Resolved {
    pb::Resolved {
        commit: r.commit.as_str().to_string(),
        reference: r.reference.as_ref().map(|(name, kind)| pb::Ref {
            name: name.clone(),
            kind: ref_kind_to_wire(*kind),
            head: r.commit.as_str().to_string(),
        }),
    }
}

pub fn resolved_from_wire(r: pb::Resolved) -> Result<Resolved, Error> {
    Ok(Resolved {
        commit: commit_id(r.commit)?,
        reference: match r.reference {
            Some(reference) => Some((reference.name, ref_kind_from_wire(reference.kind)?)),
            None => None,
        },
    })
}

fn state_to_wire(s: &TableState) -> pb::TableState {
    pb::TableState {
        metadata_location: s.metadata_location.clone(),
        snapshot_id: s.snapshot_id,
    }
}

fn state_from_wire(s: pb::TableState) -> TableState {
    TableState {
        metadata_location: s.metadata_location,
        snapshot_id: s.snapshot_id,
    }
}

fn key_from_wire(namespace: String, name: String) -> Result<TableKey, Error> {
    TableKey::new(namespace, name).map_err(|_| invalid("table name"))
}

pub fn table_to_wire((key, state): &(TableKey, TableState)) -> pb::TableEntry {
    pb::TableEntry {
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        state: Some(state_to_wire(state)),
    }
}

pub fn table_from_wire(t: pb::TableEntry) -> Result<(TableKey, TableState), Error> {
    let state = t.state.ok_or_else(|| invalid("table without a state"))?;
    Ok((key_from_wire(t.namespace, t.name)?, state_from_wire(state)))
}

pub fn diff_to_wire(d: &DiffEntry) -> pb::DiffEntry {
    pb::DiffEntry {
        namespace: d.key.namespace.clone(),
        name: d.key.name.clone(),
        from: d.from.as_ref().map(state_to_wire),
        to: d.to.as_ref().map(state_to_wire),
    }
}

pub fn diff_from_wire(d: pb::DiffEntry) -> Result<DiffEntry, Error> {
    Ok(DiffEntry {
        key: key_from_wire(d.namespace, d.name)?,
        from: d.from.map(state_from_wire),
        to: d.to.map(state_from_wire),
    })
}

pub fn commit_to_wire(c: &Commit) -> pb::Commit {
    pb::Commit {
        id: c.id.as_str().to_string(),
        parents: c.parents.iter().map(|p| p.as_str().to_string()).collect(),
        generation: c.generation,
        tree: c.tree.clone(),
        author: c.author.clone(),
        message: c.message.clone(),
        time_ms: c.time_ms,
        properties: c.properties.clone().into_iter().collect(),
        operations: c
            .operations
            .iter()
            .map(|op| match op {
                Operation::Put { key, state } => pb::Operation {
                    namespace: key.namespace.clone(),
                    name: key.name.clone(),
                    put: Some(state_to_wire(state)),
                },
                Operation::Delete { key } => pb::Operation {
                    namespace: key.namespace.clone(),
                    name: key.name.clone(),
                    put: None,
                },
            })
            .collect(),
    }
}

pub fn commit_from_wire(c: pb::Commit) -> Result<Commit, Error> {
    let operations = c
        .operations
        .into_iter()
        .map(|op| {
            let key = key_from_wire(op.namespace, op.name)?;
            Ok(match op.put {
                Some(state) => Operation::Put {
                    key,
                    state: state_from_wire(state),
                },
                None => Operation::Delete { key },
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Commit {
        id: commit_id(c.id)?,
        parents: c
            .parents
            .into_iter()
            .map(commit_id)
            .collect::<Result<_, _>>()?,
        generation: c.generation,
        tree: c.tree,
        author: c.author,
        message: c.message,
        time_ms: c.time_ms,
        properties: c.properties.into_iter().collect::<BTreeMap<_, _>>(),
        operations,
    })
}

pub fn namespace_to_wire(n: &Namespace) -> pb::Namespace {
    pb::Namespace {
        name: n.name.clone(),
        created_ms: n.created_ms,
    }
}

pub fn namespace_from_wire(n: pb::Namespace) -> Namespace {
    Namespace {
        name: n.name,
        created_ms: n.created_ms,
    }
}

pub fn merge_to_wire(outcome: &bayou_lake::MergeOutcome) -> pb::MergeResponse {
    use bayou_lake::MergeOutcome as M;
    match outcome {
        M::UpToDate { head } => pb::MergeResponse {
            result: "up_to_date".into(),
            head: head.as_str().into(),
            ..Default::default()
        },
        M::FastForward { head } => pb::MergeResponse {
            result: "fast_forward".into(),
            head: head.as_str().into(),
            ..Default::default()
        },
        M::Merged {
            head,
            combined,
            tables_changed,
        } => pb::MergeResponse {
            result: "merged".into(),
            head: head.as_str().into(),
            combined: combined.clone(),
            tables_changed: *tables_changed as u64,
        },
    }
}

pub fn merge_from_wire(m: pb::MergeResponse) -> Result<bayou_lake::MergeOutcome, Error> {
    use bayou_lake::MergeOutcome as M;
    let head = commit_id(m.head)?;
    Ok(match m.result.as_str() {
        "up_to_date" => M::UpToDate { head },
        "fast_forward" => M::FastForward { head },
        "merged" => M::Merged {
            head,
            combined: m.combined,
            tables_changed: usize::try_from(m.tables_changed).unwrap_or(usize::MAX),
        },
        _ => return Err(invalid("merge result")),
    })
}

pub fn table_info_to_wire(t: &crate::TableInfo) -> pb::TableInfoResponse {
    pb::TableInfoResponse {
        table: t.table.clone(),
        reference: t.reference.clone(),
        rows: t.rows,
        data_files: t.data_files,
        size_bytes: t.size_bytes,
        snapshot_id: t.snapshot_id,
        metadata_location: t.metadata_location.clone(),
        table_uuid: t.table_uuid.clone(),
        partitioning: t.partitioning.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| pb::Column {
                name: c.name.clone(),
                data_type: c.data_type.clone(),
                nullable: c.nullable,
            })
            .collect(),
        snapshots: t
            .snapshots
            .iter()
            .map(|s| pb::TableSnapshot {
                snapshot_id: s.snapshot_id,
                parent_id: s.parent_id,
                timestamp_ms: s.timestamp_ms,
                operation: s.operation.clone(),
                added_records: s.added_records,
                total_records: s.total_records,
            })
            .collect(),
    }
}

pub fn table_info_from_wire(t: pb::TableInfoResponse) -> crate::TableInfo {
    crate::TableInfo {
        table: t.table,
        reference: t.reference,
        rows: t.rows,
        data_files: t.data_files,
        size_bytes: t.size_bytes,
        snapshot_id: t.snapshot_id,
        metadata_location: t.metadata_location,
        table_uuid: t.table_uuid,
        partitioning: t.partitioning,
        columns: t
            .columns
            .into_iter()
            .map(|c| crate::Column {
                name: c.name,
                data_type: c.data_type,
                nullable: c.nullable,
            })
            .collect(),
        snapshots: t
            .snapshots
            .into_iter()
            .map(|s| crate::TableSnapshot {
                snapshot_id: s.snapshot_id,
                parent_id: s.parent_id,
                timestamp_ms: s.timestamp_ms,
                operation: s.operation,
                added_records: s.added_records,
                total_records: s.total_records,
            })
            .collect(),
    }
}

/// A table key from the wire, checked like any name.
pub fn table_request_to_wire(r: &crate::TableRequest) -> pb::TableRequest {
    pb::TableRequest {
        table: r.table.clone(),
        branch: r.branch.clone(),
        partitioned_by: r.partitioned_by.clone(),
        replace: r.replace,
    }
}

pub fn table_request_from_wire(r: pb::TableRequest) -> crate::TableRequest {
    crate::TableRequest {
        table: r.table,
        branch: r.branch,
        partitioned_by: r.partitioned_by,
        replace: r.replace,
    }
}

pub fn import_request_to_wire(r: &crate::ImportRequest) -> pb::ImportRequest {
    pb::ImportRequest {
        table: r.table.clone(),
        branch: r.branch.clone(),
        continue_on_error: r.continue_on_error,
        import_duplicate_files: r.import_duplicate_files,
        best_effort: r.best_effort,
    }
}

pub fn import_request_from_wire(r: pb::ImportRequest) -> crate::ImportRequest {
    crate::ImportRequest {
        table: r.table,
        branch: r.branch,
        continue_on_error: r.continue_on_error,
        import_duplicate_files: r.import_duplicate_files,
        best_effort: r.best_effort,
    }
}

pub fn external_request_to_wire(r: &crate::ExternalRequest) -> pb::CreateExternalTableRequest {
    pb::CreateExternalTableRequest {
        table: r.table.clone(),
        branch: r.branch.clone(),
        metadata_json_uri: r.metadata_json_uri.clone(),
        search_patterns: r.search_patterns.clone(),
        overwrite: r.overwrite,
    }
}

pub fn external_request_from_wire(r: pb::CreateExternalTableRequest) -> crate::ExternalRequest {
    crate::ExternalRequest {
        table: r.table,
        branch: r.branch,
        metadata_json_uri: r.metadata_json_uri,
        search_patterns: r.search_patterns,
        overwrite: r.overwrite,
    }
}

pub fn plan_to_wire(p: &crate::TablePlan) -> pb::TablePlan {
    pb::TablePlan {
        table: p.table.clone(),
        search_uri: p.search_uri.clone(),
        branch: p.branch.clone(),
        partitioned_by: p.partitioned_by.clone(),
        replace: p.replace,
        columns: p
            .columns
            .iter()
            .map(|c| pb::PlannedColumn {
                name: c.name.clone(),
                r#type: c.ty.clone(),
                in_files: c.in_files.clone(),
            })
            .collect(),
        conflicts: p
            .conflicts
            .iter()
            .map(|c| pb::Conflict {
                column: c.column.clone(),
                types: c.types.clone(),
                resolve: c.resolve.clone(),
            })
            .collect(),
    }
}

pub fn plan_from_wire(p: pb::TablePlan) -> crate::TablePlan {
    crate::TablePlan {
        table: p.table,
        search_uri: p.search_uri,
        branch: p.branch,
        partitioned_by: p.partitioned_by,
        replace: p.replace,
        columns: p
            .columns
            .into_iter()
            .map(|c| crate::PlannedColumn {
                name: c.name,
                ty: c.r#type,
                in_files: c.in_files,
            })
            .collect(),
        conflicts: p
            .conflicts
            .into_iter()
            .map(|c| crate::Conflict {
                column: c.column,
                types: c.types,
                resolve: c.resolve,
            })
            .collect(),
    }
}

pub fn write_outcome_to_wire(o: &crate::WriteOutcome) -> pb::WriteOutcome {
    pb::WriteOutcome {
        table: o.table.clone(),
        branch: o.branch.clone(),
        commit: o.commit.as_str().to_string(),
        snapshot_id: o.snapshot_id,
        rows_written: o.rows_written,
        files_written: o.files_written as u64,
        metadata_location: o.metadata_location.clone(),
    }
}

pub fn write_outcome_from_wire(o: pb::WriteOutcome) -> Result<crate::WriteOutcome, Error> {
    Ok(crate::WriteOutcome {
        table: o.table,
        branch: o.branch,
        commit: commit_id(o.commit)?,
        snapshot_id: o.snapshot_id,
        rows_written: o.rows_written,
        files_written: usize::try_from(o.files_written).map_err(|_| invalid("files written"))?,
        metadata_location: o.metadata_location,
    })
}

pub fn imported_to_wire(i: &crate::Imported) -> pb::Imported {
    pb::Imported {
        outcome: i.outcome.as_ref().map(write_outcome_to_wire),
        notes: i.notes.clone(),
    }
}

pub fn imported_from_wire(i: pb::Imported) -> Result<crate::Imported, Error> {
    Ok(crate::Imported {
        outcome: i.outcome.map(write_outcome_from_wire).transpose()?,
        notes: i.notes,
    })
}

pub fn gc_request_to_wire(r: &crate::GcRequest) -> pb::CollectGarbageRequest {
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    pb::CollectGarbageRequest {
        older_than_ms: ms(r.older_than),
        keep_runs_ms: ms(r.keep_runs),
        dry_run: r.dry_run,
    }
}

pub fn gc_request_from_wire(r: pb::CollectGarbageRequest) -> crate::GcRequest {
    crate::GcRequest {
        older_than: std::time::Duration::from_millis(r.older_than_ms),
        keep_runs: std::time::Duration::from_millis(r.keep_runs_ms),
        dry_run: r.dry_run,
    }
}

pub fn gc_report_to_wire(r: &crate::GcReport) -> pb::GarbageReport {
    pb::GarbageReport {
        dry_run: r.dry_run,
        run_branches: r.run_branches.clone(),
        commits: r.commits.iter().map(|c| c.as_str().to_string()).collect(),
        files: r
            .files
            .iter()
            .map(|f| pb::RemovedFile {
                location: f.location.clone(),
                bytes: f.bytes,
            })
            .collect(),
        bytes: r.bytes,
        young_kept: r.young_kept as u64,
        reachable: r.reachable as u64,
    }
}

pub fn gc_report_from_wire(r: pb::GarbageReport) -> Result<crate::GcReport, Error> {
    Ok(crate::GcReport {
        dry_run: r.dry_run,
        run_branches: r.run_branches,
        commits: r
            .commits
            .into_iter()
            .map(commit_id)
            .collect::<Result<_, _>>()?,
        files: r
            .files
            .into_iter()
            .map(|f| crate::RemovedFile {
                location: f.location,
                bytes: f.bytes,
            })
            .collect(),
        bytes: r.bytes,
        young_kept: usize::try_from(r.young_kept).map_err(|_| invalid("young_kept"))?,
        reachable: usize::try_from(r.reachable).map_err(|_| invalid("reachable"))?,
    })
}

pub fn check_to_wire(r: &crate::CheckReport) -> pb::LakeCheck {
    pb::LakeCheck {
        refs: r.refs as u64,
        commits: r.commits as u64,
        table_versions: r.table_versions as u64,
        files: r.files as u64,
        problems: r.problems.clone(),
    }
}

pub fn check_from_wire(r: pb::LakeCheck) -> Result<crate::CheckReport, Error> {
    let count = |n: u64, what: &str| usize::try_from(n).map_err(|_| invalid(what));
    Ok(crate::CheckReport {
        refs: count(r.refs, "refs")?,
        commits: count(r.commits, "commits")?,
        table_versions: count(r.table_versions, "table_versions")?,
        files: count(r.files, "files")?,
        problems: r.problems,
    })
}

pub fn table_key(namespace: String, name: String) -> Result<TableKey, Error> {
    key_from_wire(namespace, name)
}

/// The status a server answers an error with: a code that fits, the user's message, and the
/// kind in metadata so the client gets the same [`ErrorKind`] back.
pub fn error_to_status(e: &Error) -> tonic::Status {
    let kind = e.kind();
    let code = match kind {
        ErrorKind::UnknownRef | ErrorKind::UnknownTable | ErrorKind::UnknownNamespace => {
            tonic::Code::NotFound
        }
        ErrorKind::RefExists | ErrorKind::TableExists => tonic::Code::AlreadyExists,
        ErrorKind::NotABranch | ErrorKind::InvalidArgument | ErrorKind::Usage => {
            tonic::Code::InvalidArgument
        }
        ErrorKind::Conflict => tonic::Code::Aborted,
        ErrorKind::Unauthenticated => tonic::Code::Unauthenticated,
        ErrorKind::Forbidden => tonic::Code::PermissionDenied,
        ErrorKind::Unavailable => tonic::Code::Unavailable,
        ErrorKind::Other => tonic::Code::Internal,
    };
    let mut status = tonic::Status::new(code, e.to_string());
    if let Ok(value) = kind_name(kind).parse() {
        status.metadata_mut().insert(KIND_KEY, value);
    }
    status
}

/// The error a client reports for a status.
pub fn error_from_status(status: &tonic::Status) -> Error {
    let kind = status
        .metadata()
        .get(KIND_KEY)
        .and_then(|v| v.to_str().ok())
        .and_then(kind_from_name)
        .unwrap_or(match status.code() {
            tonic::Code::Unauthenticated => ErrorKind::Unauthenticated,
            tonic::Code::Unavailable => ErrorKind::Unavailable,
            tonic::Code::NotFound => ErrorKind::UnknownRef,
            tonic::Code::AlreadyExists => ErrorKind::RefExists,
            tonic::Code::Aborted => ErrorKind::Conflict,
            tonic::Code::InvalidArgument => ErrorKind::InvalidArgument,
            _ => ErrorKind::Other,
        });
    Error::Remote {
        kind,
        message: status.message().to_string(),
    }
}

const KINDS: &[(ErrorKind, &str)] = &[
    (ErrorKind::UnknownRef, "unknown-ref"),
    (ErrorKind::RefExists, "ref-exists"),
    (ErrorKind::NotABranch, "not-a-branch"),
    (ErrorKind::UnknownTable, "unknown-table"),
    (ErrorKind::TableExists, "table-exists"),
    (ErrorKind::UnknownNamespace, "unknown-namespace"),
    (ErrorKind::Conflict, "conflict"),
    (ErrorKind::InvalidArgument, "invalid-argument"),
    (ErrorKind::Unauthenticated, "unauthenticated"),
    (ErrorKind::Unavailable, "unavailable"),
    (ErrorKind::Usage, "usage"),
    (ErrorKind::Forbidden, "forbidden"),
    (ErrorKind::Other, "other"),
];

fn kind_name(kind: ErrorKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("other", |(_, n)| n)
}

fn kind_from_name(name: &str) -> Option<ErrorKind> {
    KINDS.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_kind_and_message_across_the_wire() {
        let e = Error::Catalog(bayou_catalog::Error::RefExists("dev".into()));
        let back = error_from_status(&error_to_status(&e));
        assert_eq!(back.kind(), ErrorKind::RefExists);
        assert_eq!(back.to_string(), e.to_string());
    }

    #[test]
    fn path_like_or_empty_commit_ids_are_refused() {
        for bad in ["", "../x", "abc/def", "zz"] {
            assert!(commit_id(bad.into()).is_err(), "{bad}");
        }
        assert!(commit_id("ab12".into()).is_ok());
    }
}
