//! Iceberg metadata for bayou tables: new tables, snapshots (append, overwrite, combined
//! appends), and reading a snapshot's data files.
//!
//! Every change writes new immutable files (manifest, manifest list, `*.metadata.json`) and never
//! edits one in place; the catalog then points the branch at the new metadata file. Two branches
//! that changed one table hold two metadata files that share their history.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use iceberg::io::FileIO;
use iceberg::spec::{
    DataFile, FormatVersion, MAIN_BRANCH, Manifest, ManifestFile, ManifestList, ManifestListWriter,
    ManifestWriterBuilder, Operation as SnapshotOperation, Snapshot, SortOrder, Summary,
    TableMetadata, TableMetadataBuilder, UnboundPartitionSpec,
};

use crate::storage::LakeStorage;
use crate::{Error, Result};

/// A loaded table version: where its metadata file is and what it says.
#[derive(Debug, Clone)]
pub struct TableVersion {
    pub metadata_location: String,
    pub metadata: Arc<TableMetadata>,
}

impl TableVersion {
    pub fn snapshot_id(&self) -> Option<i64> {
        self.metadata.current_snapshot_id()
    }

    /// The table's Arrow schema (with Iceberg field ids in the field metadata).
    pub fn arrow_schema(&self) -> Result<SchemaRef> {
        crate::schema::arrow_schema(self.metadata.current_schema())
    }

    /// Total rows in the current snapshot, from its summary.
    pub fn row_count(&self) -> u64 {
        self.summary_number("total-records")
    }

    /// The source files whose rows the table holds (see [`crate::source::identity`]): those the
    /// writes since its last overwrite read, from their snapshots' summaries.
    pub fn imported_files(&self) -> std::collections::HashSet<String> {
        let mut out = std::collections::HashSet::new();
        let mut next = self.metadata.current_snapshot_id();
        while let Some(snapshot) = next.and_then(|id| self.metadata.snapshot_by_id(id)) {
            let summary = snapshot.summary();
            if let Some(files) = summary
                .additional_properties
                .get(SOURCE_FILES)
                .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            {
                out.extend(files);
            }
            if summary.operation == iceberg::spec::Operation::Overwrite {
                break; // older rows were replaced
            }
            next = snapshot.parent_snapshot_id();
        }
        out
    }

    pub fn summary_number(&self, key: &str) -> u64 {
        self.metadata
            .current_snapshot()
            .and_then(|s| s.summary().additional_properties.get(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// The snapshot summary property listing the source files a write read.
pub(crate) const SOURCE_FILES: &str = "bayou.source-files";

pub(crate) async fn load(storage: &LakeStorage, metadata_location: &str) -> Result<TableVersion> {
    let bytes = storage.read(metadata_location).await?;
    let metadata: TableMetadata = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        what: metadata_location.to_string(),
        detail: e.to_string(),
    })?;
    Ok(TableVersion {
        metadata_location: metadata_location.to_string(),
        metadata: Arc::new(metadata),
    })
}

/// Creates the metadata of a new, empty table (no snapshot yet) at `table_location`.
/// A table's partitioning as (source column, transform) pairs: comparable across tables whose
/// field ids differ.
pub(crate) fn partitioning(metadata: &TableMetadata) -> Vec<(String, String)> {
    let schema = metadata.current_schema();
    metadata
        .default_partition_spec()
        .fields()
        .iter()
        .map(|f| {
            (
                schema
                    .name_by_field_id(f.source_id)
                    .unwrap_or_default()
                    .to_string(),
                f.transform.to_string(),
            )
        })
        .collect()
}

pub(crate) fn new_metadata(
    table_location: &str,
    schema: SchemaRef,
    partitioned_by: Option<&str>,
) -> Result<TableMetadata> {
    let iceberg_schema = iceberg::arrow::arrow_schema_to_schema_auto_assign_ids(&schema)?;
    let spec = match partitioned_by {
        Some(text) => crate::partition::parse(text, &iceberg_schema)?,
        None => UnboundPartitionSpec::builder().build(),
    };
    let properties = HashMap::from([
        ("write.format.default".to_string(), "parquet".to_string()),
        (
            "write.parquet.compression-codec".to_string(),
            "zstd".to_string(),
        ),
        (
            "created-by".to_string(),
            format!("bayou {}", env!("CARGO_PKG_VERSION")),
        ),
    ]);
    let built = TableMetadataBuilder::new(
        iceberg_schema,
        spec,
        SortOrder::unsorted_order(),
        table_location.to_string(),
        FormatVersion::V2,
        properties,
    )?
    .build()?;
    Ok(built.metadata)
}

/// `metadata` with `schema.name-mapping.default`: how to find each field by name in data files
/// written without Iceberg field ids (files bayou registers rather than writes).
pub(crate) fn with_name_mapping(metadata: TableMetadata) -> Result<TableMetadata> {
    fn mapping(fields: &[iceberg::spec::NestedFieldRef]) -> Vec<serde_json::Value> {
        fields
            .iter()
            .map(|f| {
                let mut entry = serde_json::json!({"field-id": f.id, "names": [f.name]});
                let nested: Vec<iceberg::spec::NestedFieldRef> = match f.field_type.as_ref() {
                    iceberg::spec::Type::Struct(s) => s.fields().to_vec(),
                    iceberg::spec::Type::List(l) => vec![l.element_field.clone()],
                    iceberg::spec::Type::Map(m) => vec![m.key_field.clone(), m.value_field.clone()],
                    iceberg::spec::Type::Primitive(_) => vec![],
                };
                if !nested.is_empty() {
                    entry["fields"] = serde_json::Value::Array(mapping(&nested));
                }
                entry
            })
            .collect()
    }
    let names = mapping(metadata.current_schema().as_struct().fields());
    let built = TableMetadataBuilder::new_from_metadata(metadata, None)
        .set_properties(HashMap::from([(
            "schema.name-mapping.default".to_string(),
            serde_json::Value::Array(names).to_string(),
        )]))?
        .build()?;
    Ok(built.metadata)
}

/// Writes a metadata file for `metadata` and returns its location.
pub(crate) async fn write_metadata(
    storage: &LakeStorage,
    metadata: TableMetadata,
) -> Result<TableVersion> {
    let version = metadata.metadata_log().len() + 1;
    let location = format!(
        "{}/metadata/{version:05}-{}.metadata.json",
        metadata.location().trim_end_matches('/'),
        uuid::Uuid::now_v7()
    );
    let body = serde_json::to_vec_pretty(&metadata).map_err(|e| Error::Internal(e.to_string()))?;
    storage.create(&location, body).await?;
    Ok(TableVersion {
        metadata_location: location,
        metadata: Arc::new(metadata),
    })
}

/// How a new snapshot relates to the previous one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// Keep every existing file and add the new ones.
    Append,
    /// Replace the existing files with the new ones, but for `kept` (files of the previous
    /// version that stay as they are: an overwrite of some partitions).
    Overwrite { kept: Vec<DataFile> },
}

fn new_snapshot_id() -> i64 {
    // Positive and unique: the top 63 bits of a random UUID.
    (uuid::Uuid::new_v4().as_u128() >> 65) as i64
}

/// Manifests of the current snapshot.
pub(crate) async fn manifests(
    storage: &LakeStorage,
    version: &TableVersion,
) -> Result<Vec<ManifestFile>> {
    let Some(snapshot) = version.metadata.current_snapshot() else {
        return Ok(vec![]);
    };
    manifests_of(
        storage,
        snapshot.manifest_list(),
        version.metadata.format_version(),
    )
    .await
}

/// A manifest file's entries, parsed; `what` names it in errors. The Avro reader underneath
/// panics on some malformed files (found by fuzzing): a panic is caught and reported as a
/// corrupt file, never taken for a crash of bayou.
pub(crate) fn parse_manifest(bytes: &[u8], what: &str) -> Result<Manifest> {
    guarded(what, || Manifest::parse_avro(bytes))
}

/// A manifest list, parsed (see [`parse_manifest`]).
pub(crate) fn parse_manifest_list(
    bytes: &[u8],
    format: FormatVersion,
    what: &str,
) -> Result<ManifestList> {
    guarded(what, || ManifestList::parse_with_version(bytes, format))
}

fn guarded<T>(what: &str, parse: impl FnOnce() -> iceberg::Result<T>) -> Result<T> {
    let corrupt = |detail: String| Error::Corrupt {
        what: what.to_string(),
        detail,
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)) {
        Ok(parsed) => parsed.map_err(|e| corrupt(e.to_string())),
        Err(_) => Err(corrupt("its Avro cannot be read".into())),
    }
}

async fn manifests_of(
    storage: &LakeStorage,
    list: &str,
    format: FormatVersion,
) -> Result<Vec<ManifestFile>> {
    let bytes = storage.read(list).await?;
    Ok(parse_manifest_list(&bytes, format, list)?
        .consume_entries()
        .into_iter()
        .collect())
}

/// Refuses a snapshot holding row-level delete files (merge-on-read deletes, as DuckDB's
/// DELETE and UPDATE write them): bayou's scans do not apply them yet, and reading such a table
/// as if they were not there would answer rows that were deleted. `listed` is the current
/// snapshot's manifest list.
fn refuse_row_deletes(
    metadata: &TableMetadata,
    listed: &[ManifestFile],
    table: &str,
) -> Result<()> {
    let deletes = listed.iter().any(|m| {
        m.content == iceberg::spec::ManifestContentType::Deletes
            && m.added_files_count.unwrap_or(1) + m.existing_files_count.unwrap_or(1) > 0
    });
    match (deletes, metadata.current_snapshot()) {
        (true, Some(snapshot)) => Err(Error::InvalidInput(format!(
            "{table} has row-level delete files (merge-on-read) in snapshot {}, which bayou does not read yet\n  hint: delete or update rows by rewriting their files (copy-on-write: pyiceberg's `delete`, Spark's `write.delete.mode=copy-on-write`), or through bayou",
            snapshot.snapshot_id()
        ))),
        _ => Ok(()),
    }
}

/// [`refuse_row_deletes`] for a version whose manifest list is not read yet.
pub(crate) async fn refuse_row_deletes_of(
    storage: &LakeStorage,
    version: &TableVersion,
    table: &str,
) -> Result<()> {
    let listed = manifests(storage, version).await?;
    refuse_row_deletes(&version.metadata, &listed, table)
}

/// The live data files of the current snapshot (an error if it has row-level deletes, which
/// would be answered as if they were not there).
pub(crate) async fn data_files(
    storage: &LakeStorage,
    version: &TableVersion,
) -> Result<Vec<DataFile>> {
    let listed = manifests(storage, version).await?;
    refuse_row_deletes(&version.metadata, &listed, &version.metadata_location)?;
    let mut out = Vec::new();
    for m in listed {
        let bytes = storage.read(&m.manifest_path).await?;
        let manifest = parse_manifest(&bytes, &m.manifest_path)?;
        let (entries, _) = manifest.into_parts();
        out.extend(
            entries
                .into_iter()
                .filter(|e| e.is_alive())
                .map(|e| e.data_file().clone()),
        );
    }
    Ok(out)
}

/// Writes a new snapshot holding `files` (plus, for appends, everything the current snapshot
/// holds, and `extra_manifests`), and the metadata file that makes it current.
pub(crate) async fn commit_snapshot(
    storage: &LakeStorage,
    previous: &TableVersion,
    files: Vec<DataFile>,
    change: Change,
    extra_manifests: Vec<ManifestFile>,
    summary: &std::collections::BTreeMap<String, String>,
) -> Result<TableVersion> {
    let meta = &previous.metadata;
    let snapshot_id = new_snapshot_id();
    let sequence_number = meta.next_sequence_number();
    let table_location = meta.location().trim_end_matches('/').to_string();
    let scratch = FileIO::new_with_memory();
    // Totals carry over from the previous snapshot's summary; only new manifests are read.
    let (extra_records, extra_files, extra_size) = totals(storage, &extra_manifests).await?;
    let kept = match &change {
        Change::Append => vec![],
        Change::Overwrite { kept } => kept.clone(),
    };
    let kept_records: u64 = kept.iter().map(|f| f.record_count()).sum();
    let kept_size: u64 = kept.iter().map(|f| f.file_size_in_bytes()).sum();
    let (mut total_records, mut total_files, mut total_size) = match change {
        Change::Append => (
            previous.summary_number("total-records") + extra_records,
            previous.summary_number("total-data-files") + extra_files,
            previous.summary_number("total-files-size") + extra_size,
        ),
        Change::Overwrite { .. } => (
            extra_records + kept_records,
            extra_files + kept.len() as u64,
            extra_size + kept_size,
        ),
    };
    let mut manifests = match change {
        Change::Append => manifests(storage, previous).await?,
        Change::Overwrite { .. } => vec![],
    };
    manifests.extend(extra_manifests);

    let added_records: u64 = files.iter().map(|f| f.record_count()).sum();
    let added_size: u64 = files.iter().map(|f| f.file_size_in_bytes()).sum();
    let added_files = files.len();
    total_records += added_records;
    total_files += added_files as u64;
    total_size += added_size;
    // Kept files are listed again in the new manifest (the summary counts them as kept, not
    // added); their entries carry this snapshot, which only incremental readers notice.
    let kept_files = kept.len() as u64;
    let files: Vec<DataFile> = files.into_iter().chain(kept).collect();
    if !files.is_empty() {
        let location = format!("{table_location}/metadata/{}-m0.avro", uuid::Uuid::now_v7());
        let mut writer = ManifestWriterBuilder::new(
            scratch.new_output(&location)?,
            Some(snapshot_id),
            meta.current_schema().clone(),
            meta.default_partition_spec().as_ref().clone(),
        )
        .build_v2_data();
        for f in files {
            writer.add_file(f, sequence_number)?;
        }
        let manifest = writer.write_manifest_file().await?;
        storage
            .create(&location, scratch.new_input(&location)?.read().await?)
            .await?;
        manifests.push(manifest);
    }

    let list_location = format!(
        "{table_location}/metadata/snap-{snapshot_id}-1-{}.avro",
        uuid::Uuid::now_v7()
    );
    let mut list = ManifestListWriter::v2(
        scratch.new_output(&list_location)?.writer().await?,
        snapshot_id,
        meta.current_snapshot_id(),
        sequence_number,
    );
    list.add_manifests(manifests.into_iter())?;
    list.close().await?;
    storage
        .create(
            &list_location,
            scratch.new_input(&list_location)?.read().await?,
        )
        .await?;

    let previous_records = previous.summary_number("total-records");
    let previous_files = previous.summary_number("total-data-files");
    let mut props = HashMap::from([
        ("added-data-files".to_string(), added_files.to_string()),
        ("added-records".to_string(), added_records.to_string()),
        ("added-files-size".to_string(), added_size.to_string()),
        ("total-records".to_string(), total_records.to_string()),
        ("total-data-files".to_string(), total_files.to_string()),
        ("total-files-size".to_string(), total_size.to_string()),
        ("total-delete-files".to_string(), "0".to_string()),
        ("total-position-deletes".to_string(), "0".to_string()),
        ("total-equality-deletes".to_string(), "0".to_string()),
    ]);
    props.extend(summary.clone());
    let operation = match change {
        Change::Append => SnapshotOperation::Append,
        Change::Overwrite { .. } => {
            let deleted_files = previous_files.saturating_sub(kept_files);
            let deleted_records = previous_records.saturating_sub(kept_records);
            props.insert("deleted-data-files".into(), deleted_files.to_string());
            props.insert("deleted-records".into(), deleted_records.to_string());
            SnapshotOperation::Overwrite
        }
    };
    let snapshot = Snapshot::builder()
        .with_snapshot_id(snapshot_id)
        .with_parent_snapshot_id(meta.current_snapshot_id())
        .with_sequence_number(sequence_number)
        .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
        .with_manifest_list(list_location)
        .with_schema_id(meta.current_schema_id())
        .with_summary(Summary {
            operation,
            additional_properties: props,
        })
        .build();
    let built = TableMetadataBuilder::new_from_metadata(
        (**meta).clone(),
        // A table being created has no metadata file yet: nothing to log.
        Some(previous.metadata_location.clone()).filter(|l| !l.is_empty()),
    )
    .set_branch_snapshot(snapshot, MAIN_BRANCH)?
    .build()?;
    write_metadata(storage, built.metadata).await
}

/// Rows, files and bytes of the live data files in some manifests.
async fn totals(storage: &LakeStorage, manifests: &[ManifestFile]) -> Result<(u64, u64, u64)> {
    let (mut records, mut files, mut size) = (0u64, 0u64, 0u64);
    for m in manifests {
        let bytes = storage.read(&m.manifest_path).await?;
        let manifest = parse_manifest(&bytes, &m.manifest_path)?;
        for e in manifest.entries().iter().filter(|e| e.is_alive()) {
            records += e.record_count();
            files += 1;
            size += e.file_size_in_bytes();
        }
    }
    Ok((records, files, size))
}

/// Whether `version`'s current snapshot descends from `base_snapshot` through appends only.
fn appended_since(version: &TableVersion, base_snapshot: Option<i64>) -> bool {
    let meta = &version.metadata;
    let mut cursor = meta.current_snapshot_id();
    while cursor != base_snapshot {
        let Some(id) = cursor else {
            return false; // reached the start of history without meeting the base
        };
        let Some(snapshot) = meta.snapshot_by_id(id) else {
            return false;
        };
        if snapshot.summary().operation != SnapshotOperation::Append {
            return false;
        }
        cursor = snapshot.parent_snapshot_id();
    }
    true
}

/// Combines two versions of one table that both only appended since `base`: a new snapshot on
/// top of `target` that also holds the files `source` added. `None` if they cannot be combined.
pub(crate) async fn combine_appends(
    storage: &LakeStorage,
    base: &TableVersion,
    source: &TableVersion,
    target: &TableVersion,
) -> Result<Option<TableVersion>> {
    if base.metadata.uuid() != source.metadata.uuid()
        || base.metadata.uuid() != target.metadata.uuid()
    {
        return Ok(None); // dropped and re-created on a side
    }
    let base_snapshot = base.snapshot_id();
    if !appended_since(source, base_snapshot) || !appended_since(target, base_snapshot) {
        return Ok(None);
    }
    let same_schema = source.metadata.current_schema().as_struct()
        == target.metadata.current_schema().as_struct();
    if !same_schema {
        return Ok(None);
    }
    let have: HashSet<String> = manifests(storage, target)
        .await?
        .into_iter()
        .map(|m| m.manifest_path)
        .collect();
    let extra: Vec<ManifestFile> = manifests(storage, source)
        .await?
        .into_iter()
        .filter(|m| !have.contains(&m.manifest_path))
        .collect();
    // Sequence numbers must grow past both sides' so readers order the files correctly.
    let mut target = target.clone();
    let max_seq = source
        .metadata
        .last_sequence_number()
        .max(target.metadata.last_sequence_number());
    if max_seq > target.metadata.last_sequence_number() {
        let mut m = (*target.metadata).clone();
        bump_sequence(&mut m, max_seq)?;
        target.metadata = Arc::new(m);
    }
    Ok(Some(
        commit_snapshot(
            storage,
            &target,
            vec![],
            Change::Append,
            extra,
            &Default::default(),
        )
        .await?,
    ))
}

/// Raises a metadata's last sequence number (TableMetadata keeps it private; round-trip JSON).
fn bump_sequence(meta: &mut TableMetadata, to: i64) -> Result<()> {
    let mut json = serde_json::to_value(&*meta).map_err(|e| Error::Internal(e.to_string()))?;
    json["last-sequence-number"] = serde_json::Value::from(to);
    *meta = serde_json::from_value(json).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest the fuzzer made, on which the Avro reader underneath panics (an invalid
    /// schema name it unwraps): bayou reports a corrupt file instead.
    #[test]
    fn a_manifest_the_avro_reader_panics_on_is_a_corrupt_file() {
        let bytes = include_bytes!("testdata/manifest_avro_panics.avro");
        let err = parse_manifest(bytes, "m.avro").unwrap_err();
        assert!(err.to_string().contains("m.avro"), "{err}");
        assert!(parse_manifest_list(b"not avro", FormatVersion::V2, "l.avro").is_err());
    }
}
