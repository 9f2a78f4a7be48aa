//! Tables bayou did not write: an existing Iceberg table registered by its metadata file.
//! Nothing is copied; the table's metadata and data files stay where they are, and later writes
//! through bayou add new metadata next to them, as Iceberg does.

use bayou_catalog::{CommitRequest, Operation};
use bayou_types::TableKey;
use object_store::ObjectStoreExt as _;

use crate::{Error, Lake, Result, WriteOutcome, state_of, table};

impl Lake {
    /// Registers the Iceberg table whose metadata file is at `location` (a path, `file://` or
    /// `s3://` URI in the lake's own store) as `key` on `branch`. An existing table of that name
    /// is an error unless `overwrite`.
    pub async fn register_table(
        &self,
        branch: &str,
        key: &TableKey,
        location: &str,
        overwrite: bool,
    ) -> Result<WriteOutcome> {
        let location = absolute_location(location)?;
        let version = table::load(&self.storage, &location)
            .await
            .map_err(|e| match e {
                Error::Corrupt { detail, .. } => Error::InvalidInput(format!(
                    "'{location}' is not an Iceberg table metadata file: {detail}"
                )),
                other => other,
            })?;
        let existing = self.existing(branch, key, overwrite).await?;
        self.put_table(
            branch,
            key,
            version,
            existing,
            &format!("register {key} from {location}"),
        )
        .await
    }

    /// The metadata location of table `key` on `branch` now, if it has one; an error if it does
    /// and `overwrite` is not asked for.
    pub(crate) async fn existing(
        &self,
        branch: &str,
        key: &TableKey,
        overwrite: bool,
    ) -> Result<Option<String>> {
        let mode = match overwrite {
            true => crate::WriteMode::Replace,
            false => crate::WriteMode::Create,
        };
        let existing = self.check_write(branch, key, mode).await?;
        Ok(existing.map(|s| s.metadata_location))
    }

    /// Commits `version` as table `key` on `branch`, if the branch still has `existing` there.
    async fn put_table(
        &self,
        branch: &str,
        key: &TableKey,
        version: table::TableVersion,
        existing: Option<String>,
        message: &str,
    ) -> Result<WriteOutcome> {
        let commit = self
            .catalog
            .commit(
                branch,
                CommitRequest {
                    operations: vec![Operation::Put {
                        key: key.clone(),
                        state: state_of(&version),
                    }],
                    preconditions: vec![(key.clone(), existing)],
                    message: message.to_string(),
                    author: self.author.clone(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(WriteOutcome {
            table: key.to_string(),
            branch: branch.to_string(),
            commit: commit.id,
            snapshot_id: version.snapshot_id(),
            rows_written: version.summary_number("total-records"),
            files_written: version.summary_number("total-data-files") as usize,
            metadata_location: version.metadata_location,
        })
    }
}

/// `location` as an absolute URI: URIs as they are, local paths as `file://` URIs.
fn absolute_location(location: &str) -> Result<String> {
    if location.contains("://") {
        return Ok(location.to_string());
    }
    let path = std::path::Path::new(location)
        .canonicalize()
        .map_err(|e| Error::io(location, e))?;
    url::Url::from_file_path(&path)
        .map(|u| u.to_string())
        .map_err(|()| Error::InvalidInput(format!("'{location}' is not a usable path")))
}

impl Lake {
    /// Makes table `key` on `branch` of the Parquet files `patterns` name (paths, globs, or
    /// `s3://` keys in the lake's own bucket): its metadata lives in the lake, its data files
    /// stay where they are. Files written without Iceberg field ids are read by column name
    /// (the table says so in `schema.name-mapping.default`, which Iceberg readers follow).
    pub async fn register_files(
        &self,
        branch: &str,
        key: &TableKey,
        patterns: &[String],
        overwrite: bool,
    ) -> Result<WriteOutcome> {
        let pattern = patterns.join(", ");
        let pattern = pattern.as_str();
        let existing = self.existing(branch, key, overwrite).await?;
        let mut locations = Vec::new();
        for p in patterns {
            locations.extend(self.external_locations(p).await?);
        }
        locations.sort();
        locations.dedup();
        let store = self.storage.object_store().clone();
        let mut footers = Vec::new();
        for location in &locations {
            let path = self.storage.path(location)?;
            let size = store
                .head(&path)
                .await
                .map_err(|e| Error::storage(location, e))?
                .size;
            let reader =
                parquet::arrow::async_reader::ParquetObjectReader::new(store.clone(), path)
                    .with_file_size(size);
            let builder = parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader)
                .await
                .map_err(|e| Error::BadFile {
                    file: location.clone(),
                    detail: format!("{e} (is it a Parquet file?)"),
                })?;
            footers.push((
                location.clone(),
                size,
                builder.schema().clone(),
                builder.metadata().clone(),
            ));
        }
        let schema = footers[0].2.clone();
        // Files with Iceberg field ids belong to an Iceberg table, whose metadata says what the
        // ids mean (columns dropped, renamed, reordered): register that table instead.
        if schema
            .fields()
            .iter()
            .any(|f| f.metadata().contains_key("PARQUET:field_id"))
        {
            return Err(Error::InvalidInput(format!(
                "the files of '{pattern}' carry Iceberg field ids: they belong to an Iceberg table\n  hint: register that table by its metadata file: bayou table create-external {key} --metadata-json-uri .../metadata/vN.metadata.json"
            )));
        }
        for (location, _, other, _) in &footers[1..] {
            if !crate::source::same_columns(&schema, other) {
                return Err(Error::SchemaMismatch {
                    source_name: location.clone(),
                    detail: format!("its columns differ from those of '{}'", footers[0].0),
                });
            }
        }
        let stored = crate::schema::storage_schema(&schema, pattern)?;
        let table_location = self.storage.new_table_location(key);
        let metadata =
            table::with_name_mapping(table::new_metadata(&table_location, stored, None)?)?;
        let iceberg_schema = metadata.current_schema().clone();
        let mut files = Vec::new();
        for (location, size, _, footer) in &footers {
            files.push(crate::writer::describe(
                location,
                *size,
                footer,
                &iceberg_schema,
                metadata.default_partition_spec_id(),
                iceberg::spec::Struct::empty(),
            )?);
        }
        let base = table::TableVersion {
            metadata_location: String::new(),
            metadata: std::sync::Arc::new(metadata),
        };
        let summary = std::collections::BTreeMap::from([(
            table::SOURCE_FILES.to_string(),
            serde_json::to_string(&locations).unwrap_or_default(),
        )]);
        let version = table::commit_snapshot(
            &self.storage,
            &base,
            files,
            table::Change::Append,
            vec![],
            &summary,
        )
        .await?;
        self.put_table(
            branch,
            key,
            version,
            existing,
            &format!("register {key} over {pattern}"),
        )
        .await
    }

    /// The `.parquet` files `pattern` names, as absolute locations in the lake's store.
    async fn external_locations(&self, pattern: &str) -> Result<Vec<String>> {
        let mut out: Vec<String> = if pattern.starts_with("s3://") {
            crate::remote::list(pattern)
                .await?
                .into_iter()
                .map(|(_, uri)| uri)
                .collect()
        } else {
            // The same listing as `table create` (a path, a directory or a glob).
            let files = match crate::source::list_files(pattern) {
                Ok((crate::FileFormat::Parquet, files)) => files,
                Ok(_) => vec![],
                Err(e) => {
                    return Err(Error::InvalidInput(format!(
                        "'{pattern}' matches no .parquet file: {e}"
                    )));
                }
            };
            files
                .iter()
                .map(|p| absolute_location(&p.display().to_string()))
                .collect::<Result<_>>()?
        };
        out.retain(|l| {
            let lower = l.to_ascii_lowercase();
            lower.ends_with(".parquet") || lower.ends_with(".pq")
        });
        out.sort();
        if out.is_empty() {
            return Err(Error::InvalidInput(format!(
                "'{pattern}' matches no .parquet file\n  hint: check the path or glob"
            )));
        }
        for l in &out {
            // Files outside the lake's store could not be read by it (nor by other readers
            // through its catalog): a local lake takes local files, an s3:// lake its bucket's.
            self.storage.path(l).map_err(|_| {
                Error::InvalidInput(format!(
                    "'{l}' is not in this lake's store ({}): an external table's files must be where the lake can read them",
                    self.storage.location("")
                ))
            })?;
        }
        Ok(out)
    }
}
