//! Node fingerprints: what decides whether an earlier execution's output can be reused.
//!
//! A fingerprint covers the node's normalised code (see `Node::code`), its environment key, the
//! parameter values it uses (a secret by its keyed digest), and each input: a lake table's
//! metadata file (immutable, so it names the data exactly) or a parent's fingerprint, with the
//! columns, filter and ref pushed into the read.

use std::collections::BTreeMap;

use bayou_lake::Lake;
use bayou_project::{NodeKind, ParamValue, Project, PythonSpec};
use bayou_types::CommitId;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result, Sources};

/// What the runtime executing the plan contributes to fingerprints: its runner's version and
/// how it keys a Python environment.
pub struct Runtime<'a> {
    pub runner: &'a str,
    pub env_key: &'a (dyn Fn(&PythonSpec) -> String + Sync),
}

/// Bumped when the meaning of a fingerprint or entry changes.
const FORMAT: u32 = 1;

/// What a node's fingerprint is computed from.
#[derive(Debug, Serialize)]
struct FingerprintInput<'a> {
    kind: &'a str,
    code: &'a str,
    /// The environment key of a Python node.
    env: Option<String>,
    params: BTreeMap<&'a str, serde_json::Value>,
    inputs: Vec<InputState<'a>>,
    columns: Option<&'a [String]>,
}

/// One input of a node, as it will be read.
#[derive(Debug, Serialize)]
struct InputState<'a> {
    argument: &'a str,
    columns: Option<&'a [String]>,
    filter: Option<&'a str>,
    /// `table:<metadata location>` or `model:<fingerprint>`.
    state: String,
}

/// The fingerprint of a node.
fn fingerprint(runner: &str, input: &FingerprintInput<'_>) -> String {
    let mut h = Sha256::new();
    h.update(format!("bayou-node-cache {FORMAT} {}\n", env!("CARGO_PKG_VERSION")).as_bytes());
    h.update(runner.as_bytes());
    h.update(serde_json::to_vec(input).unwrap_or_default());
    hex::encode(h.finalize())[..32].to_string()
}

/// Every node's fingerprint, in project order. A node that opts out of caching gets a fresh one,
/// and so, through it, do its descendants.
pub async fn fingerprints(
    lake: &Lake,
    project: &Project,
    params: &BTreeMap<String, ParamValue>,
    base: &CommitId,
    refs: &BTreeMap<String, CommitId>,
    sources: &Sources,
    runtime: &Runtime<'_>,
) -> Result<Vec<String>> {
    let (runner, env_key) = (runtime.runner, runtime.env_key);
    let mut fps = vec![String::new(); project.nodes.len()];
    let helpers = helper_modules(project);
    for i in project.dag().order() {
        let node = &project.nodes[i];
        if !node.cache {
            fps[i] = format!("uncached-{}", uuid::Uuid::new_v4().simple());
            continue;
        }
        let mut inputs = Vec::new();
        for input in &node.inputs {
            let state = match project
                .nodes
                .iter()
                .position(|n| n.name == input.source && !n.is_expectation())
            {
                Some(p) => format!("model:{}", fps[p]),
                None => {
                    let commit = match &input.reference {
                        Some(r) => refs.get(r).cloned().unwrap_or_else(|| base.clone()),
                        None => base.clone(),
                    };
                    let key = sources.key(input).ok_or_else(|| {
                        Error::Usage(format!("'{}' is no table name", input.source))
                    })?;
                    match lake.catalog().get_table(&commit, key).await? {
                        Some(t) => format!("table:{}", t.metadata_location),
                        None => format!("missing:{key}"),
                    }
                }
            };
            inputs.push(InputState {
                argument: &input.argument,
                columns: input.columns.as_deref(),
                filter: input.filter.as_deref(),
                state,
            });
        }
        let env = (!matches!(node.kind, NodeKind::Sql { .. }))
            .then(|| format!("{} helpers {helpers}", env_key(&project.python_spec(node))));
        fps[i] = fingerprint(
            runner,
            &FingerprintInput {
                kind: crate::kind_name(node),
                code: &node.code,
                env,
                params: params
                    .iter()
                    .filter(|(name, _)| uses_param(node, name))
                    .map(|(name, v)| (name.as_str(), serde_json::to_value(v).unwrap_or_default()))
                    .collect(),
                inputs,
                columns: node.columns.as_deref(),
            },
        );
    }
    Ok(fps)
}

/// A hash of the project's Python files that define no node (helper modules a model may import,
/// in any subdirectory): part of every Python node's fingerprint.
fn helper_modules(project: &Project) -> String {
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    for (path, text) in &project.files {
        let is_helper = path.extension().is_some_and(|e| e == "py")
            && !project.nodes.iter().any(|n| &n.file == path);
        if is_helper {
            sha2::Digest::update(&mut h, path.to_string_lossy().as_bytes());
            sha2::Digest::update(&mut h, [0]);
            sha2::Digest::update(&mut h, text.as_bytes());
            sha2::Digest::update(&mut h, [0]);
        }
    }
    hex::encode(sha2::Digest::finalize(h))
}

/// Whether `node` reads parameter `name`: as a function argument, in its SQL, or in an input's
/// filter or its overwrite filter.
pub fn uses_param(node: &bayou_project::Node, name: &str) -> bool {
    let mentions = |text: &str| {
        text.match_indices('$').any(|(at, _)| {
            let rest = &text[at + 1..];
            rest.starts_with(name)
                && !rest[name.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    node.parameters.iter().any(|p| p.name == name)
        || node
            .inputs
            .iter()
            .filter_map(|i| i.filter.as_deref())
            .any(mentions)
        || node.overwrite_filter.as_deref().is_some_and(mentions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_is_used_by_name_not_by_prefix() {
        let dir = std::env::temp_dir().join(format!("bayou-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("bayou_project.yml"),
            "project: {name: p}\nparameters:\n  n: {type: int, default: 1}\n  name: {type: str, default: x}\n",
        )
        .unwrap();
        std::fs::write(dir.join("m.sql"), "SELECT * FROM t WHERE a = $name").unwrap();
        let (project, _) = Project::load(&dir).unwrap();
        let node = &project.nodes[0];
        assert!(uses_param(node, "name"));
        assert!(!uses_param(node, "n"), "$name is not $n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
