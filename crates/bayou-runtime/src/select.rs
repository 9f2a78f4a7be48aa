//! `-m` selection: which nodes of a project a run executes.
//!
//! `MODEL` alone, `MODEL+` with its descendants, `+MODEL` with its ancestors (`+MODEL+` both).
//! Expectations follow the models they check. Unselected models that selected ones read are
//! taken from the node cache or the lake (see `execute`).

use bayou_project::Project;

use crate::{Error, Result};

/// For each node, whether it is selected by `patterns` (all of them when there are none).
pub(crate) fn select(project: &Project, patterns: &[String]) -> Result<Vec<bool>> {
    let n = project.nodes.len();
    if patterns.is_empty() {
        return Ok(vec![true; n]);
    }
    let parents = crate::parents(project);
    let mut children = vec![Vec::new(); n];
    for (i, ps) in parents.iter().enumerate() {
        for &p in ps {
            children[p].push(i);
        }
    }
    let mut selected = vec![false; n];
    for pattern in patterns {
        let ancestors = pattern.starts_with('+');
        let descendants = pattern.ends_with('+') && pattern.len() > 1;
        let name = pattern.trim_matches('+');
        let Some(start) = project
            .nodes
            .iter()
            .position(|node| node.name == name && !node.is_expectation())
        else {
            let models = project
                .nodes
                .iter()
                .filter(|m| !m.is_expectation())
                .map(|m| m.name.as_str());
            let near = bayou_project::closest(name, models);
            return Err(Error::Usage(format!(
                "-m {pattern}: the project has no model '{name}'{}",
                if near.is_empty() {
                    String::new()
                } else {
                    format!("\n  hint: did you mean {}?", near.join(", "))
                }
            )));
        };
        selected[start] = true;
        let walk = |next: &[Vec<usize>], selected: &mut [bool]| {
            let mut seen = vec![false; n];
            let mut todo = vec![start];
            while let Some(i) = todo.pop() {
                for &j in &next[i] {
                    if !seen[j] {
                        seen[j] = true;
                        selected[j] = true;
                        todo.push(j);
                    }
                }
            }
        };
        if ancestors {
            walk(&parents, &mut selected);
        }
        if descendants {
            walk(&children, &mut selected);
        }
    }
    // An expectation runs when a model it checks runs.
    for (i, node) in project.nodes.iter().enumerate() {
        if node.is_expectation() && parents[i].iter().any(|&p| selected[p]) {
            selected[i] = true;
        }
    }
    Ok(selected)
}

/// For each node, whether a selected node reads it although it is not selected: its output must
/// come from somewhere else. (Its own parents are not needed: it is not executed.)
pub(crate) fn needed(project: &Project, selected: &[bool]) -> Vec<bool> {
    let parents = crate::parents(project);
    let mut needed = vec![false; selected.len()];
    for (i, ps) in parents.iter().enumerate() {
        if selected[i] {
            for &p in ps {
                needed[p] |= !selected[p];
            }
        }
    }
    needed
}
