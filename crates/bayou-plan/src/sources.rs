//! [`Sources`]: the lake table each input of a project reads, resolved once per run.
//!
//! A qualified name (`raw.trips`, `bauplan.trips`) is that table. A bare name resolves in the
//! run's namespace first and in the default one otherwise, so a project run with `-n NS` reads
//! the outputs an earlier run wrote to NS. Resolution happens at the commit the input is read at
//! (the run's base, or the commit its `ref=` resolved to).

use std::collections::BTreeMap;

use bayou_lake::Lake;
use bayou_project::{Input, Project};
use bayou_types::{CommitId, DEFAULT_NAMESPACE, TableKey};

use crate::Result;

/// Which table each lake-table input reads, keyed by (source as written, `ref=`).
#[derive(Debug, Default, Clone)]
pub struct Sources {
    keys: BTreeMap<(String, Option<String>), TableKey>,
}

impl Sources {
    /// Resolves every input of `project` that is not a model. `refs` holds the commit of each
    /// `ref=`; an input at an unknown ref resolves at `base` (it is reported elsewhere).
    pub async fn resolve(
        lake: &Lake,
        project: &Project,
        base: &CommitId,
        refs: &BTreeMap<String, CommitId>,
        namespace: &str,
    ) -> Result<Self> {
        let mut keys = BTreeMap::new();
        for input in project.nodes.iter().flat_map(|n| &n.inputs) {
            if is_model(project, input) {
                continue;
            }
            let id = (input.source.clone(), input.reference.clone());
            if keys.contains_key(&id) {
                continue;
            }
            let commit = input
                .reference
                .as_ref()
                .and_then(|r| refs.get(r))
                .unwrap_or(base);
            let Some(key) = resolve_one(lake, commit, &input.source, namespace).await? else {
                continue; // not a table name at all: check_inputs names the input
            };
            keys.insert(id, key);
        }
        Ok(Self { keys })
    }

    /// The table `input` reads, if it is a lake table with a valid name.
    pub fn key(&self, input: &Input) -> Option<&TableKey> {
        self.keys
            .get(&(input.source.clone(), input.reference.clone()))
    }

    /// Bare names read at the run's base that resolved outside the default namespace: SQL
    /// models see these tables under their bare names.
    /// (The table's name is the bare name it was read by.)
    pub fn shadowing(&self) -> impl Iterator<Item = &TableKey> {
        self.keys.iter().filter_map(|((source, reference), key)| {
            (reference.is_none() && !source.contains('.') && key.namespace != DEFAULT_NAMESPACE)
                .then_some(key)
        })
    }

    /// Every resolved input: (source as written, `ref=`, table).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>, &TableKey)> {
        self.keys
            .iter()
            .map(|((source, reference), key)| (source.as_str(), reference.as_deref(), key))
    }
}

/// Whether `input` reads a model of the project rather than a lake table.
pub fn is_model(project: &Project, input: &Input) -> bool {
    project
        .node(&input.source)
        .is_some_and(|n| !n.is_expectation())
}

/// The table `source` names at `commit` for a run writing to `namespace`; `None` when it is no
/// table name at all (check_inputs names the input then).
async fn resolve_one(
    lake: &Lake,
    commit: &CommitId,
    source: &str,
    namespace: &str,
) -> Result<Option<TableKey>> {
    if source.contains('.') || namespace == DEFAULT_NAMESPACE {
        return Ok(TableKey::parse(source, DEFAULT_NAMESPACE).ok());
    }
    let Ok(in_run_namespace) = TableKey::new(namespace, source) else {
        return Ok(None);
    };
    Ok(
        match lake.catalog().get_table(commit, &in_run_namespace).await? {
            Some(_) => Some(in_run_namespace),
            None => TableKey::new(DEFAULT_NAMESPACE, source).ok(),
        },
    )
}
