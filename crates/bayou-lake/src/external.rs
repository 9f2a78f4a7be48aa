//! Tables bayou did not write: an existing Iceberg table registered by its metadata file.
//! Nothing is copied; the table's metadata and data files stay where they are, and later writes
//! through bayou add new metadata next to them, as Iceberg does.

use bayou_catalog::{CommitRequest, Operation};
use bayou_types::TableKey;

use crate::{Error, Lake, Result, WriteOutcome, author, state_of, table};

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
        let head = self.catalog.resolve(branch)?.commit;
        let existing = self.catalog.get_table(&head, key)?;
        if existing.is_some() && !overwrite {
            return Err(bayou_catalog::Error::TableExists(key.to_string()).into());
        }
        let commit = self.catalog.commit(
            branch,
            CommitRequest {
                operations: vec![Operation::Put {
                    key: key.clone(),
                    state: state_of(&version),
                }],
                preconditions: vec![(key.clone(), existing.map(|s| s.metadata_location))],
                message: format!("register {key} from {location}"),
                author: author(),
                ..Default::default()
            },
        )?;
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
