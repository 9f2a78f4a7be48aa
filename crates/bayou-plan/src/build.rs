//! [`Plan::build`]: everything a run needs decided before it starts, from the project and the
//! catalog alone. Every problem is reported at once (unknown inputs, refs, columns, missing
//! parameters, `-m` naming no model) and nothing is created until the plan holds.

use std::collections::BTreeMap;

use bayou_lake::Lake;
use bayou_project::{Diagnostic, Diagnostics, Materialization, ParamType, ParamValue, Project};
use bayou_types::CommitId;

use crate::{Error, PlanNode, Result, Sources, lake_secret_key, resolve_params};

/// What a run asks for.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions<'a> {
    /// The branch it publishes into.
    pub branch: &'a str,
    /// Read the data as of this commit instead of the branch's head (a replay).
    pub base: Option<&'a str>,
    /// Namespace its models are written to (else the project's, else the default).
    pub namespace: Option<&'a str>,
    /// `--param name=value` overrides.
    pub params: &'a [(String, String)],
    /// `-m` patterns.
    pub select: &'a [String],
    /// Commits to read `ref=` inputs at instead of where their refs point now (a replay).
    pub pinned_refs: &'a BTreeMap<String, CommitId>,
}

/// A run, decided.
#[derive(Debug)]
pub struct Plan {
    /// The commit the run reads.
    pub base: CommitId,
    /// The commit each `ref=` of an input resolved to.
    pub refs: BTreeMap<String, CommitId>,
    /// The namespace its models are written to.
    pub namespace: String,
    /// The table each lake-table input reads.
    pub sources: Sources,
    pub params: BTreeMap<String, ParamValue>,
    /// For each node, whether it runs (`-m`).
    pub selected: Vec<bool>,
    /// The run's description, in execution order.
    pub nodes: Vec<PlanNode>,
}

impl Plan {
    /// Plans a run of `project`. `diagnostics` are the problems [`Project::load`] found; they
    /// are reported with the ones that need the lake, and any problem stops the run here.
    pub async fn build(
        lake: &Lake,
        project: &Project,
        diagnostics: Vec<Diagnostic>,
        options: &PlanOptions<'_>,
    ) -> Result<Self> {
        let target = lake.resolve(options.branch).await?;
        if target.branch().is_none() {
            return Err(bayou_catalog::Error::NotABranch(options.branch.to_string()).into());
        }
        let base = match options.base {
            Some(commit) => lake.resolve(commit).await?.commit,
            None => target.commit.clone(),
        };
        let mut problems = diagnostics;
        // Each `ref=` an input names, resolved once: every read of it in the run sees one commit,
        // recorded so a replay reads the same.
        let (refs, bad_refs) = resolve_refs(lake, project, options.pinned_refs).await;
        let namespace = bayou_types::canonical_namespace(
            options
                .namespace
                .or(project.config.namespace.as_deref())
                .unwrap_or(bayou_types::DEFAULT_NAMESPACE),
        )
        .to_string();
        let sources = Sources::resolve(lake, project, &base, &refs, &namespace).await?;
        let tables = input_tables(lake, &sources, &base, options.branch, &refs).await?;
        // An input at an unknown ref is reported as such, not as a missing table.
        problems.extend(project.check_inputs(&tables).into_iter().filter(|d| {
            !bad_refs
                .iter()
                .any(|b| b.file == d.file && b.line == d.line)
        }));
        problems.extend(bad_refs);
        problems.extend(unpartitioned_overwrites(project));
        let overwritten =
            overwritten_tables(lake, project, &base, options.branch, &namespace).await?;
        problems.extend(project.check_overwrite_columns(&overwritten));
        if !problems.is_empty() {
            return Err(Error::Project(Diagnostics(problems)));
        }
        let secret_key = match project
            .config
            .parameters
            .values()
            .any(|p| p.ty == ParamType::Secret)
        {
            true => Some(lake_secret_key(lake).await?),
            false => None,
        };
        let params = resolve_params(project, options.params, secret_key.as_ref())?;
        // An unknown model is a usage error, found before anything starts.
        let selected = project
            .dag()
            .select(project, options.select)
            .map_err(|e| Error::Usage(e.to_string()))?;
        let nodes = crate::plan(project, &namespace);
        Ok(Self {
            base,
            refs,
            namespace,
            sources,
            params,
            selected,
            nodes,
        })
    }
}

/// The columns of each lake table the project reads, keyed by the name it uses.
async fn input_tables(
    lake: &Lake,
    sources: &Sources,
    head: &CommitId,
    branch: &str,
    refs: &BTreeMap<String, CommitId>,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    for (source, reference, key) in sources.iter() {
        if out.contains_key(source) {
            continue;
        }
        let commit = match reference {
            Some(r) => match refs.get(r) {
                Some(c) => c.clone(),
                None => continue,
            },
            None => head.clone(),
        };
        if lake.catalog().get_table(&commit, key).await?.is_none() {
            continue;
        }
        let version = lake.table(&commit, branch, key).await?;
        let columns = version
            .arrow_schema()?
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        out.insert(source.to_string(), columns);
    }
    Ok(out)
}

/// The commit of each `ref=` the inputs name (`pinned` ones as given), and a problem for each
/// that names no branch, tag or commit.
async fn resolve_refs(
    lake: &Lake,
    project: &Project,
    pinned: &BTreeMap<String, CommitId>,
) -> (BTreeMap<String, CommitId>, Vec<Diagnostic>) {
    let mut refs = BTreeMap::new();
    let mut bad_refs = Vec::new();
    for node in &project.nodes {
        for input in &node.inputs {
            let Some(r) = &input.reference else { continue };
            let commit = match pinned.get(r) {
                Some(c) => Some(c.clone()),
                None => lake.resolve(r).await.ok().map(|res| res.commit),
            };
            match commit {
                Some(c) => {
                    refs.insert(r.clone(), c);
                }
                None => bad_refs.push(
                    Diagnostic::new(
                        &node.file,
                        input.line,
                        format!(
                            "'{}' reads '{}' at ref '{r}', which is no branch, tag or commit",
                            node.name, input.source
                        ),
                    )
                    .hint("list them with `bayou branch ls` and `bayou tag ls`"),
                ),
            }
        }
    }
    (refs, bad_refs)
}

/// The columns of the tables OVERWRITE_PARTITIONS models write, for those that exist at
/// `head`, keyed by model name.
async fn overwritten_tables(
    lake: &Lake,
    project: &Project,
    head: &CommitId,
    branch: &str,
    namespace: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    for node in project
        .nodes
        .iter()
        .filter(|n| n.overwrite_filter.is_some())
    {
        let Ok(key) = bayou_types::TableKey::new(namespace, node.name.as_str()) else {
            continue;
        };
        if lake.catalog().get_table(head, &key).await?.is_none() {
            continue;
        }
        let schema = lake.table(head, branch, &key).await?.arrow_schema()?;
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        out.insert(node.name.clone(), columns);
    }
    Ok(out)
}

/// OVERWRITE_PARTITIONS models that do not say how their table is partitioned.
fn unpartitioned_overwrites(project: &Project) -> Vec<Diagnostic> {
    project
        .nodes
        .iter()
        .filter(|n| {
            n.materialization == Materialization::OverwritePartitions && n.partitioned_by.is_none()
        })
        .map(|node| {
            Diagnostic::new(
                &node.file,
                node.line,
                format!(
                    "'{}': OVERWRITE_PARTITIONS needs partitioned_by=",
                    node.name
                ),
            )
            .hint("say how the table is partitioned, e.g. partitioned_by=\"day(pickup_datetime)\"")
        })
        .collect()
}
