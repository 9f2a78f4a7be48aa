//! What a run will do, node by node, as people read it: [`PlanNode`].

use bayou_project::{Materialization, Node, NodeKind, Project};
use serde::{Deserialize, Serialize};

/// One node of a run's plan: what it reads (with the columns and filter pushed into each scan),
/// the environment it runs in and what it writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanNode {
    pub name: String,
    pub kind: String,
    /// `python 3.11 + pandas==2.2.3`, or `datafusion` for SQL models.
    pub runs_in: String,
    pub inputs: Vec<PlanInput>,
    /// `bayou.pickups (REPLACE)`, or `-` when the output stays in memory.
    pub writes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInput {
    pub source: String,
    /// `model` or `table`.
    pub kind: String,
    pub columns: Option<Vec<String>>,
    pub filter: Option<String>,
    pub reference: Option<String>,
}

/// `sql`, `python` or `expectation`.
pub fn kind_name(node: &Node) -> &'static str {
    match node.kind {
        NodeKind::Sql { .. } => "sql",
        NodeKind::Python { .. } => "python",
        NodeKind::Expectation { .. } => "expectation",
    }
}

/// The plan of a project, in execution order.
pub fn plan(project: &Project, namespace: &str) -> Vec<PlanNode> {
    project
        .dag()
        .order()
        .into_iter()
        .map(|i| {
            let node = &project.nodes[i];
            let runs_in = match &node.kind {
                NodeKind::Sql { .. } => "datafusion (fused with its scans)".to_string(),
                _ => {
                    let spec = project.python_spec(node);
                    let mut text = format!("python {}", spec.version());
                    for requirement in spec.requirements() {
                        text.push_str(&format!(" + {requirement}"));
                    }
                    text
                }
            };
            let inputs = node
                .inputs
                .iter()
                .map(|input| PlanInput {
                    source: input.source.clone(),
                    kind: if project.node(&input.source).is_some() {
                        "model"
                    } else {
                        "table"
                    }
                    .into(),
                    columns: input.columns.clone(),
                    filter: input.filter.clone(),
                    reference: input.reference.clone(),
                })
                .collect();
            let writes = match node.materialization {
                Materialization::None => "-".to_string(),
                m => format!("{namespace}.{} ({})", node.name, m.as_str()),
            };
            PlanNode {
                name: node.name.clone(),
                kind: kind_name(node).into(),
                runs_in,
                inputs,
                writes,
            }
        })
        .collect()
}
