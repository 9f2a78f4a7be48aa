//! Python models, read statically: decorators and parameter defaults are inspected in the AST
//! (ruff's parser); the module is never imported or run.
//!
//! Recognised, under `bayou.` or `bauplan.` (or names imported from either, with aliases):
//! `@model(...)`, `@python(...)`, `@expectation()`, `@resources(...)` in any order, and
//! `Model("name", columns=[...], filter="...", ref="...")` / `Parameter("name")` as defaults.
//! Decorator arguments must be literals.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ruff_python_ast::token::TokenKind;
use ruff_python_ast::{Expr, Number, Stmt, StmtFunctionDef, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use crate::diagnostics::{Diagnostic, line_of};
use crate::model::{
    Input, Materialization, Node, NodeKind, ParamUse, PythonSpec, parse_memory,
    python_version_from_number,
};

const SDK_MODULES: [&str; 2] = ["bayou", "bauplan"];

/// A literal decorator argument.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    fn describe(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a number",
            Self::Bool(_) => "a boolean",
            Self::None => "None",
            Self::List(_) => "a list",
            Self::Dict(_) => "a dict",
        }
    }
}

/// What a name in the module refers to, from its imports.
#[derive(Default)]
struct Scope {
    /// Local names bound to an SDK module (`import bauplan as bp` -> `bp`).
    modules: Vec<String>,
    /// Local names bound to SDK members (`from bayou import model as m` -> `m` -> `model`).
    members: HashMap<String, String>,
}

impl Scope {
    fn from_module(body: &[Stmt]) -> Self {
        let mut scope = Self::default();
        for stmt in body {
            match stmt {
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let name = alias.name.as_str();
                        if SDK_MODULES.contains(&name) {
                            let local = alias.asname.as_ref().map_or(name, |a| a.as_str());
                            scope.modules.push(local.to_string());
                        }
                    }
                }
                Stmt::ImportFrom(f) => {
                    let module = f.module.as_ref().map(|m| m.as_str()).unwrap_or("");
                    if SDK_MODULES.contains(&module) {
                        for alias in &f.names {
                            let member = alias.name.as_str().to_string();
                            let local = alias
                                .asname
                                .as_ref()
                                .map_or(member.clone(), |a| a.as_str().to_string());
                            scope.members.insert(local, member);
                        }
                    }
                }
                _ => {}
            }
        }
        scope
    }

    /// The SDK member an expression names (`bayou.model`, `model`), if any.
    fn sdk_member(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Attribute(a) => match a.value.as_ref() {
                Expr::Name(n)
                    if self.modules.iter().any(|m| m == n.id.as_str())
                        || SDK_MODULES.contains(&n.id.as_str()) =>
                {
                    Some(a.attr.as_str().to_string())
                }
                _ => None,
            },
            Expr::Name(n) => self.members.get(n.id.as_str()).cloned(),
            _ => None,
        }
    }
}

struct Reader<'a> {
    file: &'a Path,
    source: &'a str,
    out: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn line(&self, node: &impl Ranged) -> usize {
        line_of(self.source, node.range().start().to_usize())
    }

    fn error(&mut self, node: &impl Ranged, message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::new(self.file, self.line(node), message);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.out.push(d);
    }

    fn literal(&mut self, expr: &Expr, what: &str) -> Option<Lit> {
        let lit = match expr {
            Expr::StringLiteral(s) => Lit::Str(s.value.to_str().to_string()),
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => Lit::Int(i.as_i64()?),
                Number::Float(f) => Lit::Float(*f),
                Number::Complex { .. } => return self.not_literal(expr, what),
            },
            Expr::UnaryOp(u) if u.op == UnaryOp::USub => match self.literal(&u.operand, what)? {
                Lit::Int(i) => Lit::Int(-i),
                Lit::Float(f) => Lit::Float(-f),
                _ => return self.not_literal(expr, what),
            },
            Expr::BooleanLiteral(b) => Lit::Bool(b.value),
            Expr::NoneLiteral(_) => Lit::None,
            Expr::List(l) => Lit::List(
                l.elts
                    .iter()
                    .map(|e| self.literal(e, what))
                    .collect::<Option<_>>()?,
            ),
            Expr::Tuple(t) => Lit::List(
                t.elts
                    .iter()
                    .map(|e| self.literal(e, what))
                    .collect::<Option<_>>()?,
            ),
            Expr::Dict(d) => {
                let mut items = Vec::new();
                for item in &d.items {
                    let key = item.key.as_ref()?;
                    items.push((self.literal(key, what)?, self.literal(&item.value, what)?));
                }
                Lit::Dict(items)
            }
            _ => return self.not_literal(expr, what),
        };
        Some(lit)
    }

    fn not_literal(&mut self, expr: &Expr, what: &str) -> Option<Lit> {
        let text = &self.source[expr.range().start().to_usize()..expr.range().end().to_usize()];
        self.error(
            expr,
            format!("{what} must be a literal, not `{text}`"),
            Some("bayou reads decorators without running your code: write the value itself (a string, number, list or dict)"),
        );
        None
    }

    /// Positional and keyword arguments of a call, as literals (problems are reported).
    fn call_args(
        &mut self,
        call: &ruff_python_ast::ExprCall,
        what: &str,
    ) -> (Vec<Lit>, BTreeMap<String, (Lit, usize)>) {
        let mut positional = Vec::new();
        let mut keywords = BTreeMap::new();
        for arg in call.arguments.args.iter() {
            if let Some(l) = self.literal(arg, &format!("an argument of {what}")) {
                positional.push(l);
            }
        }
        for kw in call.arguments.keywords.iter() {
            let Some(name) = kw.arg.as_ref() else {
                self.error(kw, format!("{what} does not take **kwargs"), None);
                continue;
            };
            let line = self.line(kw);
            if let Some(l) = self.literal(
                &kw.value,
                &format!("argument '{}' of {what}", name.as_str()),
            ) {
                keywords.insert(name.as_str().to_string(), (l, line));
            }
        }
        (positional, keywords)
    }

    fn string(&mut self, lit: &Lit, node: &impl Ranged, what: &str) -> Option<String> {
        match lit {
            Lit::Str(s) => Some(s.clone()),
            Lit::None => None,
            other => {
                self.error(
                    node,
                    format!("{what} must be a string, not {}", other.describe()),
                    None,
                );
                None
            }
        }
    }

    fn strings(&mut self, lit: &Lit, node: &impl Ranged, what: &str) -> Option<Vec<String>> {
        match lit {
            Lit::List(items) => items.iter().map(|i| self.string(i, node, what)).collect(),
            Lit::Str(s) => Some(vec![s.clone()]),
            Lit::None => None,
            other => {
                self.error(
                    node,
                    format!("{what} must be a list of strings, not {}", other.describe()),
                    None,
                );
                None
            }
        }
    }

    fn function(&mut self, scope: &Scope, f: &StmtFunctionDef) -> Option<Node> {
        let mut decorators = Vec::new();
        for d in &f.decorator_list {
            let (callee, call) = match &d.expression {
                Expr::Call(c) => (c.func.as_ref(), Some(c)),
                other => (other, None),
            };
            if let Some(member) = scope.sdk_member(callee) {
                decorators.push((member, call, d));
            }
        }
        // A near miss of a decorator bayou knows (`@bayou.modle`) would make the model vanish
        // without a word; other SDK decorators are left alone.
        const KNOWN: [&str; 4] = ["model", "expectation", "python", "resources"];
        for (member, _, d) in &decorators {
            if KNOWN.contains(&member.as_str()) {
                continue;
            }
            if let Some(meant) = crate::diagnostics::closest(member, KNOWN).first() {
                self.error(
                    *d,
                    format!("'{}' is decorated with unknown @{member}", f.name.as_str()),
                    Some(&format!("did you mean @{meant}?")),
                );
            }
        }
        let is_model = decorators.iter().any(|(m, ..)| m == "model");
        let is_expectation = decorators.iter().any(|(m, ..)| m == "expectation");
        if !is_model && !is_expectation {
            return None; // a helper function
        }
        let name = f.name.as_str().to_string();
        let kind = if is_model {
            NodeKind::Python {
                function: name.clone(),
            }
        } else {
            NodeKind::Expectation {
                function: name.clone(),
            }
        };
        let mut node = Node::new(name.clone(), kind, self.file.to_path_buf(), self.line(f));
        node.source =
            self.source[f.range().start().to_usize()..f.range().end().to_usize()].to_string();
        if is_model && is_expectation {
            self.error(
                f,
                format!("'{name}' is both a model and an expectation"),
                Some("use one of @model and @expectation"),
            );
        }
        for (member, call, d) in decorators {
            let what = format!("@{member}");
            let (positional, keywords) = match call {
                Some(c) => self.call_args(c, &what),
                None => (vec![], BTreeMap::new()),
            };
            match member.as_str() {
                "model" => self.model_args(&mut node, &positional, &keywords, d),
                "python" => {
                    let mut spec = PythonSpec::default();
                    let version = positional
                        .first()
                        .or(keywords.get("version").map(|(l, _)| l));
                    spec.version = match version {
                        Some(Lit::Float(v)) => match python_version_from_number(*v) {
                            Some(version) => Some(version),
                            None => {
                                self.error(
                                    d,
                                    format!("the Python version {v} is ambiguous as a number (3.10 reads as 3.1)"),
                                    Some("quote it: @bayou.python(\"3.10\")"),
                                );
                                None
                            }
                        },
                        Some(v) => self.string(v, d, "the Python version"),
                        None => None,
                    };
                    if let Some(v) = spec
                        .version
                        .as_deref()
                        .filter(|v| !crate::model::is_python_version(v))
                    {
                        self.error(
                            d,
                            format!("'{v}' is not a Python version"),
                            Some("name a Python 3 version, like @bayou.python(\"3.12\")"),
                        );
                    }
                    if let Some((Lit::Dict(items), line)) =
                        keywords.get("pip").or(keywords.get("packages"))
                    {
                        for (k, v) in items {
                            match (k, v) {
                                (Lit::Str(k), Lit::Str(v)) => {
                                    spec.packages.insert(k.clone(), v.clone());
                                }
                                _ => self.out.push(
                                    Diagnostic::new(
                                        self.file,
                                        *line,
                                        "pip= maps package names to version strings",
                                    )
                                    .hint("write pip={\"pandas\": \"2.2.3\"}"),
                                ),
                            }
                        }
                    } else if let Some((other, line)) = keywords.get("pip") {
                        self.out.push(Diagnostic::new(
                            self.file,
                            *line,
                            format!("pip= must be a dict, not {}", other.describe()),
                        ));
                    }
                    node.python = Some(spec);
                }
                "resources" => {
                    for (key, (value, line)) in &keywords {
                        match (key.as_str(), value) {
                            ("memory", Lit::Str(s)) => match parse_memory(s) {
                                Some(b) => node.resources.memory_bytes = Some(b),
                                None => self.out.push(
                                    Diagnostic::new(
                                        self.file,
                                        *line,
                                        format!("cannot read memory '{s}'"),
                                    )
                                    .hint("use a number with MB, GB, MiB or GiB, like \"512MB\""),
                                ),
                            },
                            ("memory", Lit::Int(n)) if *n > 0 => {
                                node.resources.memory_bytes = Some(*n as u64)
                            }
                            ("cpus", Lit::Int(n)) if *n > 0 => {
                                node.resources.cpus = Some(*n as f64)
                            }
                            ("cpus", Lit::Float(n)) if *n > 0.0 => node.resources.cpus = Some(*n),
                            ("timeout", Lit::Int(n)) if *n > 0 => {
                                node.resources.timeout_seconds = Some(*n as u64)
                            }
                            (k, v) => self.out.push(
                                Diagnostic::new(
                                    self.file,
                                    *line,
                                    format!("@resources does not take {k}={}", v.describe()),
                                )
                                .hint("use memory=\"512MB\", cpus=1, timeout=60"),
                            ),
                        }
                    }
                }
                _ => {}
            }
        }
        self.inputs(&mut node, f);
        Some(node)
    }

    fn model_args(
        &mut self,
        node: &mut Node,
        positional: &[Lit],
        keywords: &BTreeMap<String, (Lit, usize)>,
        d: &impl Ranged,
    ) {
        if !positional.is_empty() {
            self.error(
                d,
                "@model takes keyword arguments only",
                Some("write @bayou.model(name=\"...\")"),
            );
        }
        for (key, (value, line)) in keywords {
            let line = *line;
            let problem = |msg: String| Diagnostic::new(self.file, line, msg);
            match key.as_str() {
                "name" => match value {
                    Lit::Str(s) => match bayou_types::validate_name("model", s) {
                        Ok(()) => node.name = s.clone(),
                        Err(e) => self.out.push(problem(e.to_string())),
                    },
                    other => self.out.push(problem(format!("name= must be a string, not {}", other.describe()))),
                },
                "columns" => node.columns = self.strings(value, d, "columns="),
                "partitioned_by" => {
                    node.partitioned_by = match value {
                        Lit::Str(s) => Some(s.clone()),
                        Lit::List(items) => Some(
                            items
                                .iter()
                                .filter_map(|i| if let Lit::Str(s) = i { Some(s.clone()) } else { None })
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                        _ => None,
                    }
                }
                "materialization_strategy" | "materialize" => match value {
                    Lit::Str(s) => match Materialization::parse(s) {
                        Some(m) => node.materialization = m,
                        None => self.out.push(
                            problem(format!("unknown materialization_strategy '{s}'"))
                                .hint("use NONE, REPLACE, APPEND or OVERWRITE_PARTITIONS"),
                        ),
                    },
                    // Python's None is bauplan's spelling of NONE.
                    Lit::None => node.materialization = Materialization::None,
                    other => self.out.push(problem(format!("materialization_strategy= must be a string, not {}", other.describe()))),
                },
                "overwrite_filter" => node.overwrite_filter = self.string(value, d, "overwrite_filter="),
                "cache_strategy" => {
                    node.cache = !matches!(value, Lit::None)
                        && !matches!(value, Lit::Str(s) if s.eq_ignore_ascii_case("none"));
                }
                "internet_access" => match value {
                    Lit::Bool(b) => node.internet_access = *b,
                    other => self.out.push(problem(format!("internet_access= must be True or False, not {}", other.describe()))),
                },
                other => self.out.push(
                    problem(format!("@model has no argument '{other}'"))
                        .hint("arguments: name, columns, partitioned_by, materialization_strategy, overwrite_filter, cache_strategy, internet_access"),
                ),
            }
        }
        if node.materialization == Materialization::OverwritePartitions
            && node.overwrite_filter.is_none()
        {
            self.error(
                d,
                "OVERWRITE_PARTITIONS needs overwrite_filter=",
                Some("say which rows to replace, e.g. overwrite_filter=\"day = '2023-01-01'\""),
            );
        }
    }

    fn inputs(&mut self, node: &mut Node, f: &StmtFunctionDef) {
        let params = &f.parameters;
        for p in params
            .posonlyargs
            .iter()
            .chain(params.args.iter())
            .chain(params.kwonlyargs.iter())
        {
            let arg = p.parameter.name.as_str().to_string();
            let Some(default) = p.default.as_deref() else {
                self.error(
                    p,
                    format!("argument '{arg}' of '{}' has no default", node.name),
                    Some("inputs are declared as defaults: `trips=bayou.Model(\"trips\")` or `n=bayou.Parameter(\"n\")`"),
                );
                continue;
            };
            let Expr::Call(call) = default else {
                self.error(
                    default,
                    format!(
                        "argument '{arg}' of '{}' must default to Model(...) or Parameter(...)",
                        node.name
                    ),
                    None,
                );
                continue;
            };
            let scope_member = match call.func.as_ref() {
                Expr::Attribute(a) => Some(a.attr.as_str().to_string()),
                Expr::Name(n) => Some(n.id.as_str().to_string()),
                _ => None,
            };
            let line = self.line(default);
            let what = format!("the input '{arg}'");
            let (positional, keywords) = self.call_args(call, &what);
            match scope_member.as_deref() {
                Some("Model") => {
                    let source = positional
                        .first()
                        .or(keywords.get("name").map(|(l, _)| l))
                        .and_then(|l| self.string(l, default, "Model's name"));
                    let Some(source) = source else {
                        self.error(
                            default,
                            format!("Model(...) for '{arg}' needs a table or model name"),
                            None,
                        );
                        continue;
                    };
                    // Other keywords are accepted as bauplan's SDK does, but a near miss of a
                    // known one is a typo that would silently read the whole table.
                    const KNOWN: [&str; 4] = ["name", "columns", "filter", "ref"];
                    for key in keywords.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
                        let near = crate::diagnostics::closest(key, KNOWN);
                        if let Some(meant) = near.first() {
                            self.error(
                                default,
                                format!("Model(...) for '{arg}' has no argument '{key}'"),
                                Some(&format!("did you mean {meant}=?")),
                            );
                        }
                    }
                    let columns = keywords
                        .get("columns")
                        .and_then(|(l, _)| self.strings(l, default, "columns="));
                    let columns = columns.filter(|c| !(c.len() == 1 && c[0] == "*"));
                    let filter = keywords
                        .get("filter")
                        .and_then(|(l, _)| self.string(l, default, "filter="));
                    let reference = keywords
                        .get("ref")
                        .and_then(|(l, _)| self.string(l, default, "ref="));
                    node.inputs.push(Input {
                        argument: arg,
                        source,
                        columns,
                        filter,
                        reference,
                        line,
                    });
                }
                Some("Parameter") => {
                    match positional.first().or(keywords.get("name").map(|(l, _)| l)) {
                        Some(Lit::Str(name)) => node.parameters.push(ParamUse {
                            name: name.clone(),
                            argument: Some(arg),
                            line,
                        }),
                        _ => self.error(
                            default,
                            format!("Parameter(...) for '{arg}' needs a parameter name"),
                            None,
                        ),
                    }
                }
                _ => self.error(
                    default,
                    format!(
                        "argument '{arg}' of '{}' must default to Model(...) or Parameter(...)",
                        node.name
                    ),
                    None,
                ),
            }
        }
    }
}

/// Reads the models and expectations of one Python file; problems go to `out`.
pub(crate) fn read(file: &Path, source: &str, out: &mut Vec<Diagnostic>) -> Vec<Node> {
    let parsed = match ruff_python_parser::parse_module(source) {
        Ok(p) => p,
        Err(e) => {
            out.push(
                Diagnostic::new(
                    file,
                    line_of(source, e.location.start().to_usize()),
                    format!("Python syntax error: {}", e.error),
                )
                .hint("fix the syntax; bayou reads the file without running it"),
            );
            return vec![];
        }
    };
    let tokens: Vec<(TokenKind, TextRange)> =
        parsed.tokens().iter().map(|t| t.as_tuple()).collect();
    let module = parsed.into_syntax();
    let scope = Scope::from_module(&module.body);
    let mut reader = Reader { file, source, out };
    let found: Vec<(TextRange, Node)> = module
        .body
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::FunctionDef(f) => reader.function(&scope, f).map(|n| (f.range(), n)),
            _ => None,
        })
        .collect();
    let ranges: Vec<TextRange> = found.iter().map(|(r, _)| *r).collect();
    found
        .into_iter()
        .map(|(own, mut node)| {
            let others: Vec<TextRange> = ranges.iter().copied().filter(|r| *r != own).collect();
            node.code = code_text(source, &tokens, &others);
            node
        })
        .collect()
}

/// The code a Python node's fingerprint covers: its module's tokens without comments, blank
/// lines, spacing and the definitions of the module's other nodes. So a comment or formatting
/// change counts for nothing, editing one model leaves the others in the file alone, and editing
/// a helper or an import (which the node may use) counts for every node in the file.
fn code_text(source: &str, tokens: &[(TokenKind, TextRange)], skip: &[TextRange]) -> String {
    let mut out = String::new();
    for &(kind, range) in tokens {
        if skip.iter().any(|s| s.contains_range(range)) {
            continue;
        }
        match kind {
            TokenKind::Comment | TokenKind::NonLogicalNewline | TokenKind::EndOfFile => {}
            TokenKind::Newline => out.push('\n'),
            TokenKind::Indent => out.push_str("{indent}"),
            TokenKind::Dedent => out.push_str("{dedent}"),
            _ => {
                out.push_str(&source[range]);
                out.push(' ');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "python_tests.rs"]
mod tests;
