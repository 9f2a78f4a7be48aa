//! [`TableInfo`]: what `table get` shows of a table, without Iceberg types.

use bayou_lake::TableVersion;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub nullable: bool,
}

/// A table at a ref: size, snapshot, partitioning and columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    pub table: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub rows: u64,
    pub data_files: u64,
    pub size_bytes: u64,
    pub snapshot_id: Option<i64>,
    pub metadata_location: String,
    pub table_uuid: String,
    /// Partition fields as `col`, `year(col)`, `bucket(16, col)`; `None`: unpartitioned.
    pub partitioning: Option<String>,
    pub columns: Vec<Column>,
    /// The current snapshot and its ancestors, newest first.
    pub snapshots: Vec<TableSnapshot>,
}

/// One snapshot of a table's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSnapshot {
    pub snapshot_id: i64,
    pub parent_id: Option<i64>,
    pub timestamp_ms: i64,
    /// `append`, `overwrite`, `replace` or `delete`.
    pub operation: String,
    pub added_records: u64,
    pub total_records: u64,
}

impl TableInfo {
    pub(crate) fn of(
        table: String,
        reference: String,
        version: &TableVersion,
    ) -> bayou_lake::Result<Self> {
        let schema = version.arrow_schema()?;
        Ok(Self {
            table,
            reference,
            rows: version.row_count(),
            data_files: version.summary_number("total-data-files"),
            size_bytes: version.summary_number("total-files-size"),
            snapshot_id: version.snapshot_id(),
            metadata_location: version.metadata_location.clone(),
            table_uuid: version.metadata.uuid().to_string(),
            partitioning: partitioning(version),
            columns: schema
                .fields()
                .iter()
                .map(|f| Column {
                    name: f.name().clone(),
                    data_type: f.data_type().to_string(),
                    nullable: f.is_nullable(),
                })
                .collect(),
            snapshots: history(version),
        })
    }
}

/// The current snapshot of `version` and its ancestors, newest first (a parent missing from
/// the metadata, expired, ends the history).
fn history(version: &TableVersion) -> Vec<TableSnapshot> {
    let metadata = &version.metadata;
    let number = |s: &bayou_lake::Snapshot, key: &str| {
        s.summary()
            .additional_properties
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    let mut next = metadata.current_snapshot();
    while let Some(s) = next.filter(|_| out.len() < metadata.snapshots().len()) {
        out.push(TableSnapshot {
            snapshot_id: s.snapshot_id(),
            parent_id: s.parent_snapshot_id(),
            timestamp_ms: s.timestamp_ms(),
            operation: s.summary().operation.as_str().to_string(),
            added_records: number(s, "added-records"),
            total_records: number(s, "total-records"),
        });
        next = s
            .parent_snapshot_id()
            .and_then(|id| metadata.snapshot_by_id(id));
    }
    out
}

fn partitioning(version: &TableVersion) -> Option<String> {
    let spec = version.metadata.default_partition_spec();
    let schema = version.metadata.current_schema();
    let fields: Vec<String> = spec
        .fields()
        .iter()
        .map(|f| {
            let column = schema
                .field_by_id(f.source_id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| format!("#{}", f.source_id));
            let t = f.transform.to_string();
            if t == "identity" {
                column
            } else if let Some((name, arg)) = t.split_once('[') {
                format!("{name}({}, {column})", arg.trim_end_matches(']'))
            } else {
                format!("{t}({column})")
            }
        })
        .collect();
    (!fields.is_empty()).then(|| fields.join(", "))
}
