//! Commits from outside engines (what the Iceberg REST catalog receives): tables created,
//! staged, changed, several at once, renamed. Each is one catalog commit on a branch, checked
//! against the state of every table it touches, so a concurrent writer's commit is never lost
//! (the later one conflicts and its engine retries).

use std::collections::{HashMap, HashSet};

use bayou_catalog::{CommitRequest, Operation};
use bayou_types::{CommitId, TableKey};
use iceberg::spec::{FormatVersion, SortOrder, TableMetadata, TableMetadataBuilder};
use iceberg::{TableRequirement, TableUpdate};

use crate::{Error, Lake, Result, state_of, table};

/// A table an outside engine asks for (the Iceberg REST catalog's create): its schema,
/// partitioning, sort order and properties.
pub struct NewTable {
    pub schema: iceberg::spec::Schema,
    pub partition_spec: Option<iceberg::spec::UnboundPartitionSpec>,
    pub sort_order: Option<SortOrder>,
    pub properties: HashMap<String, String>,
}

/// One table's part of an outside engine's commit: what must hold of the table as the branch
/// has it (`requirements`), and the changes to its metadata (`updates`). A table that does not
/// exist yet is created when the requirements say so (`assert-create`).
pub struct TableChange {
    pub key: TableKey,
    pub requirements: Vec<TableRequirement>,
    pub updates: Vec<TableUpdate>,
}

/// What an outside engine's commit made: the catalog commit and each table's new version, in
/// the order of the changes.
pub struct EngineCommit {
    pub commit: CommitId,
    pub tables: Vec<table::TableVersion>,
}

impl Lake {
    /// The metadata of a new, empty table `key` on `branch`, at a fresh place in the lake's
    /// storage, written nowhere: the engine fills it and commits it with `assert-create`
    /// (a staged create). Refused where a create would be (a tag, a table that exists).
    pub async fn stage_for_engine(
        &self,
        branch: &str,
        key: &TableKey,
        table: NewTable,
    ) -> Result<TableMetadata> {
        self.existing(branch, key, false).await?;
        let mut properties = table.properties;
        // A reserved property that engines send to ask for a format version (Iceberg's Java
        // library takes it so); bayou's tables are version 2.
        if let Some(asked) = properties
            .remove("format-version")
            .filter(|asked| asked.trim() != "2")
        {
            return Err(Error::InvalidInput(format!(
                "cannot create {key} as Iceberg format version {asked}: bayou's tables are version 2\n  hint: leave `format-version` out, or set it to 2"
            )));
        }
        let location = self.storage.new_table_location(key);
        let invalid =
            |e: iceberg::Error| Error::InvalidInput(format!("cannot create {key} so: {e}"));
        Ok(TableMetadataBuilder::new(
            table.schema,
            table.partition_spec.unwrap_or_default(),
            table.sort_order.unwrap_or_else(SortOrder::unsorted_order),
            location,
            FormatVersion::V2,
            properties,
        )
        .and_then(|b| b.build())
        .map_err(invalid)?
        .metadata)
    }

    /// Creates table `key` on `branch` as an outside engine asks: empty, in the lake's own
    /// storage (a location of the engine's choosing is not taken), one catalog commit.
    pub async fn create_for_engine(
        &self,
        branch: &str,
        key: &TableKey,
        table: NewTable,
    ) -> Result<EngineCommit> {
        let metadata = self.stage_for_engine(branch, key, table).await?;
        let version = table::write_metadata(&self.storage, metadata).await?;
        let commit = self
            .commit_versions(branch, vec![(key.clone(), version, None)])
            .await?;
        Ok(commit)
    }

    /// Applies an outside engine's commit to one or more tables on `branch`, all or nothing:
    /// each change's requirements are checked against its table as the branch has it, its
    /// updates applied to the table's metadata, and the results committed at once if the
    /// branch still has every table as it was read; else a conflict, which the engine retries.
    /// A commit may not move a table (its metadata is written at its location).
    pub async fn commit_changes(
        &self,
        branch: &str,
        changes: Vec<TableChange>,
    ) -> Result<EngineCommit> {
        let mut seen = HashSet::new();
        if let Some(twice) = changes.iter().find(|c| !seen.insert(c.key.clone())) {
            return Err(Error::InvalidInput(format!(
                "the commit changes {} twice: send one change per table",
                twice.key
            )));
        }
        let mut versions = Vec::with_capacity(changes.len());
        for change in changes {
            let existing = self.existing(branch, &change.key, true).await?;
            let metadata = match &existing {
                Some(location) => self.changed(branch, location, change).await?,
                None => self.created(branch, change).await?,
            };
            let key = metadata.0;
            if metadata.1.format_version() != FormatVersion::V2 {
                return Err(Error::InvalidInput(format!(
                    "the commit makes {key} Iceberg format version {}: bayou's tables are version 2",
                    metadata.1.format_version()
                )));
            }
            self.check_files_in_lake(&key, &metadata.1).await?;
            let version = table::write_metadata(&self.storage, metadata.1).await?;
            table::refuse_row_deletes_of(&self.storage, &version, &key.to_string()).await?;
            versions.push((key, version, existing));
        }
        self.commit_versions(branch, versions).await
    }

    /// Renames table `from` to `to` on `branch` (its files stay where they are), if `from` is
    /// still there and `to` is free when the commit lands.
    pub async fn rename_table(
        &self,
        branch: &str,
        from: &TableKey,
        to: &TableKey,
    ) -> Result<CommitId> {
        let Some(state) = self
            .check_write(branch, from, crate::WriteMode::Replace)
            .await?
        else {
            return Err(bayou_catalog::Error::UnknownTable {
                table: from.to_string(),
                at: branch.to_string(),
            }
            .into());
        };
        self.existing(branch, to, false).await?;
        let commit = self
            .catalog
            .commit(
                branch,
                CommitRequest {
                    preconditions: vec![
                        (from.clone(), Some(state.metadata_location.clone())),
                        (to.clone(), None),
                    ],
                    operations: vec![
                        Operation::Delete { key: from.clone() },
                        Operation::Put {
                            key: to.clone(),
                            state,
                        },
                    ],
                    message: format!("rename {from} to {to}"),
                    author: self.author.clone(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(commit.id)
    }

    /// Refuses table metadata from outside (an engine's commit, a registered file) whose
    /// current snapshot names a manifest list, manifest or data file outside the lake's
    /// storage: the lake reads only its own files on a caller's behalf.
    pub async fn check_files_in_lake(
        &self,
        key: &TableKey,
        metadata: &TableMetadata,
    ) -> Result<()> {
        let outside = |location: &str| {
            Error::InvalidInput(format!(
                "{key} names '{location}', which is not in this lake's storage ({}): a table's files must be in the lake",
                self.storage.location("")
            ))
        };
        let Some(snapshot) = metadata.current_snapshot() else {
            return Ok(());
        };
        let list = snapshot.manifest_list();
        if !self.storage.contains(list) {
            return Err(outside(list));
        }
        let bytes = self.storage.read(list).await?;
        let listed = table::parse_manifest_list(&bytes, metadata.format_version(), list)?;
        for manifest in listed.entries() {
            let path = &manifest.manifest_path;
            if !self.storage.contains(path) {
                return Err(outside(path));
            }
            let bytes = self.storage.read(path).await?;
            let parsed = table::parse_manifest(&bytes, path)?;
            if let Some(entry) = parsed
                .entries()
                .iter()
                .find(|e| !self.storage.contains(e.data_file().file_path()))
            {
                return Err(outside(entry.data_file().file_path()));
            }
        }
        Ok(())
    }

    /// The metadata of the table at `location` after `change`.
    async fn changed(
        &self,
        branch: &str,
        location: &str,
        change: TableChange,
    ) -> Result<(TableKey, TableMetadata)> {
        let key = change.key;
        let current = table::load(&self.storage, location).await?;
        for requirement in &change.requirements {
            requirement
                .check(Some(current.metadata.as_ref()))
                .map_err(|e| unmet(branch, &key, e))?;
        }
        let mut builder = TableMetadataBuilder::new_from_metadata(
            current.metadata.as_ref().clone(),
            Some(location.to_string()),
        );
        for update in change.updates {
            builder = update.apply(builder).map_err(|e| not_applied(&key, e))?;
        }
        let metadata = builder.build().map_err(|e| not_applied(&key, e))?.metadata;
        if metadata.location() != current.metadata.location() {
            return Err(Error::InvalidInput(format!(
                "a commit may not move {key} to '{}': its metadata is written at its location",
                metadata.location()
            )));
        }
        Ok((key, metadata))
    }

    /// The metadata of a table a commit creates (a staged create): built from the commit's
    /// updates alone, at the place [`Self::stage_for_engine`] gave it.
    async fn created(
        &self,
        branch: &str,
        change: TableChange,
    ) -> Result<(TableKey, TableMetadata)> {
        let key = change.key;
        if !change
            .requirements
            .iter()
            .any(|r| matches!(r, TableRequirement::NotExist))
        {
            return Err(bayou_catalog::Error::UnknownTable {
                table: key.to_string(),
                at: branch.to_string(),
            }
            .into());
        }
        for requirement in &change.requirements {
            requirement
                .check(None)
                .map_err(|e| unmet(branch, &key, e))?;
        }
        let schema = change.updates.iter().find_map(|u| match u {
            TableUpdate::AddSchema { schema } => Some(schema.clone()),
            _ => None,
        });
        let Some(schema) = schema else {
            return Err(Error::InvalidInput(format!(
                "the commit creating {key} adds no schema"
            )));
        };
        let spec = change.updates.iter().find_map(|u| match u {
            TableUpdate::AddSpec { spec } => Some(spec.clone()),
            _ => None,
        });
        let order = change.updates.iter().find_map(|u| match u {
            TableUpdate::AddSortOrder { sort_order } => Some(sort_order.clone()),
            _ => None,
        });
        let format = change.updates.iter().find_map(|u| match u {
            TableUpdate::UpgradeFormatVersion { format_version } => Some(*format_version),
            _ => None,
        });
        let location = change.updates.iter().find_map(|u| match u {
            TableUpdate::SetLocation { location } => Some(location.clone()),
            _ => None,
        });
        let Some(location) = location else {
            return Err(Error::InvalidInput(format!(
                "the commit creating {key} sets no location\n  hint: create the table with stage-create first; bayou gives it its place"
            )));
        };
        self.check_staged_location(&key, &location).await?;
        let mut builder = TableMetadataBuilder::new(
            schema,
            spec.unwrap_or_default(),
            order.unwrap_or_else(SortOrder::unsorted_order),
            location,
            format.unwrap_or(FormatVersion::V2),
            HashMap::new(),
        )
        .map_err(|e| not_applied(&key, e))?;
        for update in change.updates {
            builder = update.apply(builder).map_err(|e| not_applied(&key, e))?;
        }
        let metadata = builder.build().map_err(|e| not_applied(&key, e))?.metadata;
        Ok((key, metadata))
    }

    /// A staged table's location must be one [`Self::stage_for_engine`] gives `key` (a fresh
    /// directory in the lake's `tables/`) and hold no table yet: an engine may not place a
    /// table elsewhere, nor over another table's files.
    async fn check_staged_location(&self, key: &TableKey, location: &str) -> Result<()> {
        let relative_prefix = format!("tables/{}/{}-", key.namespace, key.name);
        let prefix = self.storage.location(&relative_prefix);
        let suffix = location.trim_end_matches('/').strip_prefix(&prefix);
        let fresh =
            suffix.is_some_and(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        if !fresh {
            return Err(Error::InvalidInput(format!(
                "{key} may not be created at '{location}': bayou places tables in its lake\n  hint: create the table with stage-create and keep the location it answers"
            )));
        }
        let relative = format!("{relative_prefix}{}/metadata/", suffix.unwrap_or_default());
        // The engine has written data files and manifests there already; a metadata file
        // would mean a table was made there.
        let made = self.storage.list(&relative).await?;
        if made.iter().any(|file| file.ends_with(".metadata.json")) {
            return Err(Error::InvalidInput(format!(
                "'{location}' holds a table already: {key} may not be created there"
            )));
        }
        Ok(())
    }

    /// Commits each table's new version on `branch` if the branch still has each as it was
    /// (the third item: its metadata location then, or none).
    async fn commit_versions(
        &self,
        branch: &str,
        versions: Vec<(TableKey, table::TableVersion, Option<String>)>,
    ) -> Result<EngineCommit> {
        let names: Vec<String> = versions
            .iter()
            .map(|(key, _, existing)| match existing {
                Some(_) => format!("commit {key}"),
                None => format!("create {key}"),
            })
            .collect();
        let request = CommitRequest {
            operations: versions
                .iter()
                .map(|(key, version, _)| Operation::Put {
                    key: key.clone(),
                    state: state_of(version),
                })
                .collect(),
            preconditions: versions
                .iter()
                .map(|(key, _, existing)| (key.clone(), existing.clone()))
                .collect(),
            message: format!("{} from an Iceberg client", names.join(", ")),
            author: self.author.clone(),
            ..Default::default()
        };
        let commit = self.catalog.commit(branch, request).await?;
        Ok(EngineCommit {
            commit: commit.id,
            tables: versions.into_iter().map(|(_, v, _)| v).collect(),
        })
    }
}

/// A requirement of the engine's commit that the table does not meet: a conflict (HTTP 409),
/// which the engine answers by reading the table again.
fn unmet(branch: &str, key: &TableKey, e: iceberg::Error) -> Error {
    Error::from(bayou_catalog::Error::Conflict {
        branch: branch.to_string(),
        tables: format!("{key} ({e})"),
    })
}

fn not_applied(key: &TableKey, e: iceberg::Error) -> Error {
    Error::InvalidInput(format!("the commit's updates do not apply to {key}: {e}"))
}
