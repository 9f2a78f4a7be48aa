//! [`Dag`]: the one graph of a project's nodes. Edges run from the model a node reads to the
//! node; lake tables are not nodes. Project checks (cycles), the execution order and `-m`
//! selection all walk this one graph.
//!
//! A name defined twice (itself an error the project reports) resolves to its first definition,
//! everywhere.

use std::collections::HashMap;

use crate::{Node, Project};

/// The dependency graph of a project's nodes, by index into [`Project::nodes`].
#[derive(Debug, Clone)]
pub struct Dag {
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

/// A `-m` pattern that names no model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("-m {pattern}: the project has no model '{name}'{}", hint(.near))]
pub struct UnknownSelection {
    pub pattern: String,
    pub name: String,
    /// Model names close to the one asked for.
    pub near: Vec<String>,
}

fn hint(near: &[String]) -> String {
    match near.is_empty() {
        true => String::new(),
        false => format!("\n  hint: did you mean {}?", near.join(", ")),
    }
}

impl Dag {
    /// The graph of `nodes`.
    pub fn of(nodes: &[Node]) -> Self {
        let mut models: HashMap<&str, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if !n.is_expectation() {
                models.entry(n.name.as_str()).or_insert(i);
            }
        }
        let parents: Vec<Vec<usize>> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut p: Vec<usize> = n
                    .inputs
                    .iter()
                    .filter_map(|input| models.get(input.source.as_str()).copied())
                    .filter(|&p| p != i)
                    .collect();
                p.sort_unstable();
                p.dedup();
                p
            })
            .collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(i);
            }
        }
        Self { parents, children }
    }

    pub fn len(&self) -> usize {
        self.parents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
    }

    /// The models node `i` reads.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// Parents before children (expectations after what they read), in project order
    /// otherwise. A cycle (reported by the project checks) is cut where it closes.
    pub fn order(&self) -> Vec<usize> {
        fn visit(i: usize, dag: &Dag, done: &mut [bool], out: &mut Vec<usize>) {
            if done[i] {
                return;
            }
            done[i] = true;
            for &p in &dag.parents[i] {
                visit(p, dag, done, out);
            }
            out.push(i);
        }
        let mut done = vec![false; self.len()];
        let mut out = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            visit(i, self, &mut done, &mut out);
        }
        out
    }

    /// Nodes that form a cycle, parent before child, if any.
    pub fn cycle(&self) -> Option<Vec<usize>> {
        // 0 = unvisited, 1 = on the stack, 2 = done.
        fn visit(
            i: usize,
            dag: &Dag,
            state: &mut [u8],
            stack: &mut Vec<usize>,
        ) -> Option<Vec<usize>> {
            state[i] = 1;
            stack.push(i);
            for &parent in &dag.parents[i] {
                if state[parent] == 1 {
                    let start = stack.iter().position(|&s| s == parent).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                if state[parent] == 0
                    && let Some(c) = visit(parent, dag, state, stack)
                {
                    return Some(c);
                }
            }
            stack.pop();
            state[i] = 2;
            None
        }
        let mut state = vec![0u8; self.len()];
        let mut stack = Vec::new();
        (0..self.len()).find_map(|i| {
            (state[i] == 0)
                .then(|| visit(i, self, &mut state, &mut stack))
                .flatten()
                .map(|mut c| {
                    c.reverse(); // a -> b reads as "b reads a"
                    c
                })
        })
    }

    /// For each node, whether `-m` `patterns` select it (all nodes when there are none):
    /// `MODEL`, `MODEL+` with its descendants, `+MODEL` with its ancestors (`+MODEL+` both).
    /// An expectation runs when a model it checks runs.
    pub fn select(
        &self,
        project: &Project,
        patterns: &[String],
    ) -> Result<Vec<bool>, UnknownSelection> {
        let n = self.len();
        if patterns.is_empty() {
            return Ok(vec![true; n]);
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
                return Err(UnknownSelection {
                    pattern: pattern.clone(),
                    name: name.to_string(),
                    near: crate::closest(name, models)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                });
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
                walk(&self.parents, &mut selected);
            }
            if descendants {
                walk(&self.children, &mut selected);
            }
        }
        for (i, node) in project.nodes.iter().enumerate() {
            if node.is_expectation() && self.parents[i].iter().any(|&p| selected[p]) {
                selected[i] = true;
            }
        }
        Ok(selected)
    }

    /// For each node, whether a selected node reads it although it is not selected: its output
    /// must come from somewhere else (the cache or the lake).
    pub fn needed(&self, selected: &[bool]) -> Vec<bool> {
        let mut needed = vec![false; selected.len()];
        for (i, ps) in self.parents.iter().enumerate() {
            if selected[i] {
                for &p in ps {
                    needed[p] |= !selected[p];
                }
            }
        }
        needed
    }
}
