//! A model's declared `columns=[...]`: the contract its output is checked against. A declared
//! column the output lacks is a warning, or the run's failure under `--strict`; columns the
//! output has beyond the declared ones are fine.

use arrow::datatypes::Schema;
use bayou_project::Node;

use crate::{Event, NodeReport, NodeStatus, OnEvent, RunRecord};

/// The declared columns of `node` that `schema` lacks.
fn missing(node: &Node, schema: &Schema) -> Vec<String> {
    let Some(declared) = &node.columns else {
        return vec![];
    };
    declared
        .iter()
        .filter(|c| c.as_str() != "*" && schema.field_with_name(c).is_err())
        .cloned()
        .collect()
}

/// Checks the output of `node` (its `schema`): a warning, or with `strict` the node's and the
/// run's failure, in which case it returns true.
pub(crate) fn check(
    node: &Node,
    schema: &Schema,
    report: &mut NodeReport,
    record: &mut RunRecord,
    strict: bool,
    on_event: OnEvent<'_>,
) -> bool {
    let missing = missing(node, schema);
    if missing.is_empty() {
        return false;
    }
    let has: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let msg = format!(
        "model '{}' declares column{} {} in columns=, but its output has no such column (it has: {})",
        node.name,
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", "),
        has.join(", ")
    );
    if strict {
        report.status = NodeStatus::Failed;
        report.error = Some(msg.clone());
        record.fail(format!("{msg} (--strict)"));
        true
    } else {
        report.log.push(format!("warning: {msg}"));
        record.warnings.push(msg.clone());
        on_event(Event::Warning {
            message: msg.clone(),
        });
        false
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};

    use super::*;

    #[test]
    fn only_declared_columns_the_output_lacks_count() {
        let mut node = bayou_project::Node {
            columns: Some(vec!["a".into(), "b".into(), "c".into()]),
            ..test_node()
        };
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("z", DataType::Int64, true),
        ]);
        assert_eq!(missing(&node, &schema), ["b", "c"]);
        node.columns = Some(vec!["*".into()]);
        assert!(missing(&node, &schema).is_empty());
        node.columns = None;
        assert!(missing(&node, &schema).is_empty());
    }

    fn test_node() -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bayou_project.yml"), "project: {name: p}\n").unwrap();
        std::fs::write(dir.path().join("m.sql"), "SELECT 1 AS a").unwrap();
        let (project, _) = bayou_project::Project::load(dir.path()).unwrap();
        project.nodes[0].clone()
    }
}
