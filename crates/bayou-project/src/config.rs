//! The project file: `bayou_project.yml` or `bauplan_project.yml`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;
use crate::model::{ParamType, ParamValue, PythonSpec};

/// Names a project file may have, in the order they are looked for.
pub const PROJECT_FILES: [&str; 4] = [
    "bayou_project.yml",
    "bayou_project.yaml",
    "bauplan_project.yml",
    "bauplan_project.yaml",
];

/// A parameter declared by the project.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParamSpec {
    pub ty: ParamType,
    pub default: Option<ParamValue>,
    pub required: bool,
    pub description: Option<String>,
}

/// What the project file says.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProjectConfig {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub parameters: BTreeMap<String, ParamSpec>,
    pub python: Option<PythonSpec>,
    pub namespace: Option<String>,
    pub timeout_seconds: Option<u64>,
    /// Globs of `.sql` files outside the project's top level that are models too.
    pub include_paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    project: Option<RawProject>,
    #[serde(default)]
    parameters: BTreeMap<String, RawParam>,
    defaults: Option<RawDefaults>,
    /// bauplan's extra `.sql` files: globs relative to the project directory.
    #[serde(default)]
    include_paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawProject {
    id: Option<serde_yaml::Value>,
    name: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    #[serde(rename = "type")]
    ty: Option<String>,
    default: Option<serde_yaml::Value>,
    #[serde(default)]
    required: bool,
    description: Option<String>,
    /// The key a secret's value is encrypted with (`bayou-lake`, or bauplan's KMS key).
    #[allow(
        dead_code,
        reason = "read by nothing yet: bayou's secrets name their key by prefix"
    )]
    key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    python: Option<RawPython>,
    namespace: Option<String>,
    timeout: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPython {
    version: Option<serde_yaml::Value>,
    /// `{pandas: "2.2.3"}`, or bauplan's list `[{name: pandas, version: "2.2.3"}]`.
    #[serde(default)]
    packages: serde_yaml::Value,
}

/// The (name, version) pairs of `packages:` in either of its forms; `None` for another shape.
fn package_pairs(v: &serde_yaml::Value) -> Option<Vec<(String, serde_yaml::Value)>> {
    use serde_yaml::Value as V;
    match v {
        V::Null => Some(vec![]),
        V::Mapping(m) => m
            .iter()
            .map(|(k, v)| Some((scalar_text(k)?, v.clone())))
            .collect(),
        V::Sequence(items) => items
            .iter()
            .map(|item| {
                let name = scalar_text(item.get("name")?)?;
                Some((name, item.get("version").cloned().unwrap_or(V::Null)))
            })
            .collect(),
        _ => None,
    }
}

fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// 1-based line of the first line in `text` that starts with `key:` (after indentation).
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .map_or(0, |i| i + 1)
}

/// Parses a project file; problems go to `out`.
pub(crate) fn parse(file: &Path, text: &str, out: &mut Vec<Diagnostic>) -> ProjectConfig {
    let raw: RawFile = match serde_yaml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.location().map_or(0, |l| l.line());
            out.push(
                Diagnostic::new(file, line, format!("invalid project file: {e}"))
                    .hint("expected keys: project {id, name, description}, parameters, defaults {python, namespace, timeout}"),
            );
            return ProjectConfig::default();
        }
    };
    let mut config = ProjectConfig {
        include_paths: raw.include_paths,
        ..ProjectConfig::default()
    };
    if let Some(p) = raw.project {
        config.id = p.id.as_ref().and_then(scalar_text);
        config.name = p.name;
        config.description = p.description;
    }
    for (name, p) in raw.parameters {
        let line = line_of_key(text, &name);
        if let Err(e) = bayou_types::validate_name("parameter", &name) {
            out.push(Diagnostic::new(file, line, e.to_string()));
            continue;
        }
        let ty = match p.ty.as_deref().map(|t| (t, ParamType::parse(t))) {
            None => ParamType::Str,
            Some((_, Some(ty))) => ty,
            Some((other, None)) => {
                out.push(
                    Diagnostic::new(
                        file,
                        line,
                        format!("parameter '{name}' has unknown type '{other}'"),
                    )
                    .hint("types are int, float, bool, str and secret"),
                );
                continue;
            }
        };
        let default = match &p.default {
            None | Some(serde_yaml::Value::Null) => None,
            Some(v) => match ParamValue::from_yaml(ty, v) {
                Some(v) => Some(v),
                None => {
                    out.push(Diagnostic::new(
                        file,
                        line,
                        format!(
                            "the default of parameter '{name}' is not a valid {}",
                            ty.as_str()
                        ),
                    ));
                    continue;
                }
            },
        };
        config.parameters.insert(
            name,
            ParamSpec {
                ty,
                default,
                required: p.required,
                description: p.description,
            },
        );
    }
    if let Some(d) = raw.defaults {
        config.namespace = d.namespace;
        config.timeout_seconds = d.timeout;
        if let Some(py) = d.python {
            let mut packages = BTreeMap::new();
            let pairs = package_pairs(&py.packages).unwrap_or_else(|| {
                out.push(
                    Diagnostic::new(file, line_of_key(text, "packages"), "packages: must map names to versions")
                        .hint("write `packages: {pandas: \"2.2.3\"}` or a list of `{name: pandas, version: \"2.2.3\"}`"),
                );
                vec![]
            });
            for (name, v) in pairs {
                let v = if v.is_null() {
                    serde_yaml::Value::String(String::new())
                } else {
                    v
                };
                match scalar_text(&v) {
                    Some(version) => {
                        packages.insert(name, version);
                    }
                    None => out.push(Diagnostic::new(
                        file,
                        line_of_key(text, &name),
                        format!("package '{name}' needs a version string, like \"2.2.3\""),
                    )),
                }
            }
            let version = match &py.version {
                Some(serde_yaml::Value::Number(n)) => {
                    let v = n
                        .as_f64()
                        .and_then(crate::model::python_version_from_number);
                    if v.is_none() {
                        out.push(
                            Diagnostic::new(
                                file,
                                line_of_key(text, "version"),
                                format!("the Python version {n} is ambiguous as a number (3.10 reads as 3.1)"),
                            )
                            .hint("quote it: version: \"3.10\""),
                        );
                    }
                    v
                }
                other => other.as_ref().and_then(scalar_text),
            };
            if let Some(v) = version
                .as_deref()
                .filter(|v| !crate::model::is_python_version(v))
            {
                out.push(
                    Diagnostic::new(
                        file,
                        line_of_key(text, "version"),
                        format!("'{v}' is not a Python version"),
                    )
                    .hint("name a Python 3 version, like \"3.12\""),
                );
            }
            config.python = Some(PythonSpec { version, packages });
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unquoted_python_version_that_lost_its_zero_is_reported() {
        let mut out = vec![];
        let text = "project: {name: a}\ndefaults:\n  python:\n    version: 3.10\n";
        let config = parse(Path::new("bayou_project.yml"), text, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].line, 4);
        assert!(out[0].message.contains("ambiguous"), "{}", out[0]);
        assert_eq!(config.python.unwrap().version, None);
        let mut out = vec![];
        let text = "project: {name: a}\ndefaults:\n  python:\n    version: 3.11\n";
        let config = parse(Path::new("bayou_project.yml"), text, &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(config.python.unwrap().version.as_deref(), Some("3.11"));
    }

    #[test]
    fn default_packages_may_be_a_map_or_bauplans_list() {
        let list = "project: {name: a}\ndefaults:\n  python:\n    version: \"3.12\"\n    packages:\n      - name: pandas\n        version: \"2.2.0\"\n      - name: duckdb\n";
        let mut out = vec![];
        let config = parse(Path::new("bauplan_project.yml"), list, &mut out);
        assert!(out.is_empty(), "{out:?}");
        let py = config.python.unwrap();
        assert_eq!(py.version.as_deref(), Some("3.12"));
        assert_eq!(py.packages["pandas"], "2.2.0");
        assert_eq!(py.packages["duckdb"], "");
        let mut out = vec![];
        parse(
            Path::new("p.yml"),
            "defaults:\n  python:\n    version: \"2.7\"\n    packages: pandas\n",
            &mut out,
        );
        let msgs: Vec<&str> = out.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "packages: must map names to versions",
                "'2.7' is not a Python version"
            ],
            "{out:?}"
        );
    }

    #[test]
    fn a_full_project_file_parses() {
        let text = "project:\n  id: 1234\n  name: taxi\nparameters:\n  min_miles:\n    type: float\n    default: 1.5\n  tag:\n    type: str\n    required: true\ndefaults:\n  python:\n    version: '3.11'\n    packages:\n      pandas: 2.2.3\n  namespace: analytics\n  timeout: 600\n";
        let mut out = vec![];
        let c = parse(Path::new("bayou_project.yml"), text, &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(c.id.as_deref(), Some("1234"));
        assert_eq!(
            c.parameters["min_miles"].default,
            Some(ParamValue::Float(1.5))
        );
        assert!(c.parameters["tag"].required);
        assert_eq!(c.python.unwrap().packages["pandas"], "2.2.3");
        assert_eq!(c.namespace.as_deref(), Some("analytics"));
    }

    #[test]
    fn bad_types_and_unknown_keys_are_reported_with_lines() {
        let mut out = vec![];
        parse(
            Path::new("p.yml"),
            "parameters:\n  n:\n    type: integer\n",
            &mut out,
        );
        assert_eq!(out[0].line, 2);
        assert!(out[0].message.contains("unknown type 'integer'"));
        let mut out = vec![];
        parse(Path::new("p.yml"), "projekt:\n  name: x\n", &mut out);
        assert!(out[0].message.contains("unknown field"), "{}", out[0]);
    }
}
