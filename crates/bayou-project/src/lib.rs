//! Reads a project directory into a DAG of models, running no user code.
//!
//! Entry point: [`Project::load`], then [`Project::check_inputs`] against the tables of the
//! target ref. A project is the top-level `*.sql` and `*.py` files of a directory plus its
//! `bayou_project.yml` (or `bauplan_project.yml`). SQL is parsed with sqlparser and Python with
//! ruff's parser, so planning never imports user code.
//!
//! Trade-off: reading Python statically means decorator arguments must be literals, the way
//! bauplan requires too; in exchange a broken or slow module cannot stall or compromise
//! planning, and every problem in every file is reported at once with its `file:line`.

mod config;
mod dag;
mod diagnostics;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod model;
mod python;
mod secret;
mod sql;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use config::{PROJECT_FILES, ParamSpec, ProjectConfig};
pub use dag::{Dag, UnknownSelection};
pub use diagnostics::{Diagnostic, Diagnostics, closest};
pub use model::{
    DEFAULT_PYTHON, Input, Materialization, Node, NodeKind, ParamType, ParamUse, ParamValue,
    PythonSpec, Resources, parse_memory,
};
pub use secret::{KEY_NAME as SECRET_KEY_NAME, Secret, SecretKey};

/// A project read from disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Project {
    pub root: PathBuf,
    /// The project file, relative to `root`.
    pub config_file: PathBuf,
    pub config: ProjectConfig,
    /// Models and expectations, in file order.
    pub nodes: Vec<Node>,
    /// Every file that makes up the project (relative path, content), for the code snapshot.
    #[serde(skip)]
    pub files: Vec<(PathBuf, String)>,
}

/// The `.py` files in the subdirectories of `dir/rel` (not hidden, not ignored, not caches or
/// virtualenvs), as project files.
fn helper_modules(
    dir: &Path,
    rel: &Path,
    patterns: &[glob::Pattern],
    files: &mut Vec<(PathBuf, String)>,
) {
    let Ok(entries) = std::fs::read_dir(dir.join(rel)) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let path = rel.join(&name);
        let skip = name.starts_with('.')
            || matches!(
                name.as_str(),
                "__pycache__" | "venv" | "node_modules" | "target"
            )
            || ignored(patterns, &path.to_string_lossy());
        match e.file_type() {
            Ok(t) if t.is_dir() && !skip => helper_modules(dir, &path, patterns, files),
            Ok(t)
                if t.is_file() && !skip && !rel.as_os_str().is_empty() && name.ends_with(".py") =>
            {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    files.push((path, text));
                }
            }
            _ => {}
        }
    }
}

/// The `.sql` files the `include_paths:` globs match, relative to `dir`, sorted. A glob that
/// is absolute, leaves the directory or matches nothing is reported.
fn included_sql(dir: &Path, globs: &[String], out: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut found = BTreeSet::new();
    for pattern in globs {
        let problem = |why: &str| {
            Diagnostic::new(
                "include_paths",
                0,
                format!("include path '{pattern}' {why}"),
            )
            .hint("include_paths are globs of .sql files inside the project, like \"models/*.sql\"")
        };
        if Path::new(pattern).is_absolute() || pattern.split('/').any(|p| p == "..") {
            out.push(problem("is not inside the project"));
            continue;
        }
        let Ok(paths) = glob::glob(&dir.join(pattern).to_string_lossy()) else {
            out.push(problem("is no glob"));
            continue;
        };
        let before = found.len();
        for path in paths.flatten() {
            if let Ok(rel) = path.strip_prefix(dir)
                && path.extension().is_some_and(|e| e == "sql")
            {
                found.insert(rel.to_path_buf());
            }
        }
        if found.len() == before {
            out.push(problem("matches no .sql file"));
        }
    }
    found.into_iter().collect()
}

/// Whether `.gitignore` at the project root ignores `name` (simple glob lines only).
fn ignored(patterns: &[glob::Pattern], name: &str) -> bool {
    patterns.iter().any(|p| p.matches(name))
}

impl Project {
    /// Reads a project. The project is returned with whatever could be read, together with every
    /// problem found; only a missing directory or project file fails outright.
    pub fn load(dir: &Path) -> Result<(Self, Vec<Diagnostic>), Diagnostics> {
        let fatal =
            |msg: String, hint: &str| Diagnostics(vec![Diagnostic::new(dir, 0, msg).hint(hint)]);
        let entries = std::fs::read_dir(dir).map_err(|e| {
            fatal(
                format!("cannot read the project directory: {e}"),
                "pass the project directory with -p DIR",
            )
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        names.sort();
        let present: Vec<&str> = PROJECT_FILES
            .iter()
            .copied()
            .filter(|f| names.iter().any(|n| n == f))
            .collect();
        let config_name = match present.as_slice() {
            [] => {
                return Err(fatal(
                    "no bayou_project.yml (or bauplan_project.yml) here".into(),
                    "create one with at least `project: {name: my_project}`",
                ));
            }
            [one] => *one,
            several => {
                return Err(fatal(
                    format!("several project files: {}", several.join(", ")),
                    "keep exactly one project file",
                ));
            }
        };
        let mut diagnostics = Vec::new();
        let read = |name: &str, out: &mut Vec<Diagnostic>| -> Option<String> {
            match std::fs::read_to_string(dir.join(name)) {
                Ok(t) => Some(t),
                Err(e) => {
                    out.push(Diagnostic::new(
                        name,
                        0,
                        format!("cannot read the file: {e}"),
                    ));
                    None
                }
            }
        };
        let config_text = read(config_name, &mut diagnostics).unwrap_or_default();
        let config = config::parse(Path::new(config_name), &config_text, &mut diagnostics);
        let mut files = vec![(PathBuf::from(config_name), config_text)];
        let patterns: Vec<glob::Pattern> = std::fs::read_to_string(dir.join(".gitignore"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/'))
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
            .filter_map(|l| glob::Pattern::new(l).ok())
            .collect();
        let mut nodes = Vec::new();
        for name in &names {
            if ignored(&patterns, name) {
                continue;
            }
            let is_sql = name.ends_with(".sql");
            let is_py = name.ends_with(".py");
            if !is_sql && !is_py {
                continue;
            }
            let Some(text) = read(name, &mut diagnostics) else {
                continue;
            };
            let path = Path::new(name);
            if is_sql {
                nodes.extend(sql::read(path, &text, &mut diagnostics));
            } else {
                nodes.extend(python::read(path, &text, &mut diagnostics));
            }
            files.push((path.to_path_buf(), text));
        }
        // Python modules in subdirectories are code the models may import: part of the code
        // hash and the stored snapshot, though never read for models.
        helper_modules(dir, Path::new(""), &patterns, &mut files);
        // bauplan's `include_paths:` name `.sql` files in subdirectories as models too.
        for rel in included_sql(dir, &config.include_paths, &mut diagnostics) {
            if files.iter().any(|(p, _)| *p == rel) {
                continue;
            }
            let Some(text) = read(&rel.to_string_lossy(), &mut diagnostics) else {
                continue;
            };
            nodes.extend(sql::read(&rel, &text, &mut diagnostics));
            files.push((rel, text));
        }
        let project = Self {
            root: dir.to_path_buf(),
            config_file: PathBuf::from(config_name),
            config,
            nodes,
            files,
        };
        project.check_static(&mut diagnostics);
        Ok((project, diagnostics))
    }

    /// The Python environment `node` runs in: the project's `defaults.python`, with the node's
    /// own `@python(...)` over it (its version if it names one; its pins added to the project's,
    /// a package both pin taking the node's version). The version is always set.
    pub fn python_spec(&self, node: &Node) -> PythonSpec {
        let mut spec = self.config.python.clone().unwrap_or_default();
        if let Some(own) = &node.python {
            if own.version.is_some() {
                spec.version.clone_from(&own.version);
            }
            spec.packages.retain(|name, _| !own.pins(name));
            spec.packages.extend(own.packages.clone());
        }
        spec.version = Some(spec.version().to_string());
        spec
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The SHA-256 of the project's files (names and contents): the code snapshot's address.
    pub fn code_hash(&self) -> String {
        let mut h = Sha256::new();
        for (path, text) in &self.files {
            h.update(path.to_string_lossy().as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }

    /// Problems visible without the lake: duplicate names, unknown parameters, filters that do
    /// not parse, cycles.
    fn check_static(&self, out: &mut Vec<Diagnostic>) {
        let mut seen: HashMap<&str, &Node> = HashMap::new();
        for node in &self.nodes {
            if let Some(first) = seen.get(node.name.as_str()) {
                out.push(
                    Diagnostic::new(
                        &node.file,
                        node.line,
                        format!("duplicate model '{}'", node.name),
                    )
                    .hint(format!(
                        "'{}' is also defined at {}:{}; rename one of them",
                        node.name,
                        first.file.display(),
                        first.line
                    )),
                );
            } else {
                seen.insert(&node.name, node);
            }
            let known: Vec<&str> = self.config.parameters.keys().map(String::as_str).collect();
            let unknown_param = |name: &str, line: usize| {
                let mut d = Diagnostic::new(
                    &node.file,
                    line,
                    format!("unknown parameter '{name}' in '{}'", node.name),
                );
                let close = diagnostics::closest(name, known.iter().copied());
                d = if close.is_empty() {
                    d.hint(format!(
                        "declare it under `parameters:` in {}",
                        self.config_file.display()
                    ))
                } else {
                    d.hint(format!("did you mean {}?", close.join(", ")))
                };
                d
            };
            for p in &node.parameters {
                if !self.config.parameters.contains_key(&p.name) {
                    out.push(unknown_param(&p.name, p.line));
                }
            }
            if let Some(filter) = &node.overwrite_filter {
                match sql::expression_params(filter) {
                    Err(e) => out.push(
                        Diagnostic::new(&node.file, node.line, format!("the overwrite_filter of '{}' does not parse: {e}", node.name))
                            .hint("an overwrite filter is a SQL predicate over the table's columns, like \"day = $day\""),
                    ),
                    Ok(params) => {
                        for p in params.iter().filter(|p| !self.config.parameters.contains_key(*p)) {
                            out.push(unknown_param(p, node.line));
                        }
                    }
                }
            }
            for input in &node.inputs {
                let Some(filter) = &input.filter else {
                    continue;
                };
                match sql::expression_params(filter) {
                    Err(e) => out.push(
                        Diagnostic::new(&node.file, input.line, format!("the filter of input '{}' does not parse: {e}", input.argument))
                            .hint("a filter is a SQL predicate, like \"trip_miles > 1 AND PULocationID IN (1, 2)\""),
                    ),
                    Ok(params) => {
                        for p in params.iter().filter(|p| !self.config.parameters.contains_key(*p)) {
                            out.push(unknown_param(p, input.line));
                        }
                    }
                }
            }
        }
        if let Some(cycle) = self.dag().cycle() {
            let first = &self.nodes[cycle[0]];
            let path: Vec<&str> = cycle
                .iter()
                .map(|&i| self.nodes[i].name.as_str())
                .chain([first.name.as_str()])
                .collect();
            out.push(
                Diagnostic::new(
                    &first.file,
                    first.line,
                    format!("the models form a cycle: {}", path.join(" -> ")),
                )
                .hint("a model cannot depend on itself, directly or through others"),
            );
        }
    }

    /// Overwrite filters naming a column their table lacks; `tables` maps a model's name to
    /// the columns of the table it writes, for the tables that exist.
    pub fn check_overwrite_columns(
        &self,
        tables: &BTreeMap<String, Vec<String>>,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for node in &self.nodes {
            let (Some(filter), Some(have)) = (&node.overwrite_filter, tables.get(&node.name))
            else {
                continue;
            };
            let Ok((_, columns)) = sql::expression_names(filter) else {
                continue; // reported when the project loaded
            };
            for c in columns.iter().filter(|c| !have.contains(c)) {
                let close = diagnostics::closest(c, have.iter().map(String::as_str));
                let mut d = Diagnostic::new(
                    &node.file,
                    node.line,
                    format!(
                        "the overwrite_filter of '{}' names column '{c}', which its table lacks",
                        node.name
                    ),
                );
                if !close.is_empty() {
                    d = d.hint(format!("did you mean {}?", close.join(", ")));
                }
                out.push(d);
            }
        }
        out
    }

    /// The dependency graph of the nodes.
    pub fn dag(&self) -> Dag {
        Dag::of(&self.nodes)
    }

    /// Problems that need the lake: inputs that are neither a model nor a table at the target
    /// ref (with the closest names as a hint), and `columns=` naming a column the parent lacks.
    ///
    /// `tables` maps each table name visible at the ref (both `name` and `namespace.name`) to its
    /// columns.
    pub fn check_inputs(&self, tables: &BTreeMap<String, Vec<String>>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let models: BTreeSet<&str> = self
            .nodes
            .iter()
            .filter(|n| !n.is_expectation())
            .map(|n| n.name.as_str())
            .collect();
        for node in &self.nodes {
            for input in &node.inputs {
                let parent_columns: Option<Vec<String>> = if let Some(parent) =
                    self.node(&input.source).filter(|p| !p.is_expectation())
                {
                    parent.columns.clone()
                } else if let Some(cols) = tables.get(&input.source) {
                    Some(cols.clone())
                } else {
                    let candidates = models
                        .iter()
                        .copied()
                        .chain(tables.keys().map(String::as_str));
                    let close = diagnostics::closest(&input.source, candidates);
                    let mut d = Diagnostic::new(
                        &node.file,
                        input.line,
                        format!(
                            "'{}' reads '{}', which is neither a model of the project nor a table at the target ref",
                            node.name, input.source
                        ),
                    );
                    d = if close.is_empty() {
                        d.hint("check the name, or import the table with `bayou table create`")
                    } else {
                        d.hint(format!("did you mean {}?", close.join(", ")))
                    };
                    out.push(d);
                    continue;
                };
                if let (Some(wanted), Some(have)) = (&input.columns, parent_columns) {
                    for c in wanted.iter().filter(|c| !have.contains(c)) {
                        let close = diagnostics::closest(c, have.iter().map(String::as_str));
                        let mut d = Diagnostic::new(
                            &node.file,
                            input.line,
                            format!(
                                "'{}' has no column '{c}' (asked for by '{}')",
                                input.source, node.name
                            ),
                        );
                        if !close.is_empty() {
                            d = d.hint(format!("did you mean {}?", close.join(", ")));
                        }
                        out.push(d);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
