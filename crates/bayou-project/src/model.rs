//! The nodes of a project: SQL models, Python models and expectations, with their inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Int,
    Float,
    Bool,
    Str,
    /// A string stored encrypted in the project file (see [`crate::SecretKey`]).
    Secret,
}

impl ParamType {
    /// A type as a project file or `--type` names it.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "int" => Self::Int,
            "float" => Self::Float,
            "bool" => Self::Bool,
            "str" => Self::Str,
            "secret" => Self::Secret,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::Str => "str",
            Self::Secret => "secret",
        }
    }
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    /// A decrypted secret: its plaintext reaches only the function; it serializes masked.
    Secret(crate::Secret),
}

impl ParamValue {
    pub(crate) fn from_yaml(ty: ParamType, v: &serde_yaml::Value) -> Option<Self> {
        use serde_yaml::Value as V;
        Some(match (ty, v) {
            (ParamType::Int, V::Number(n)) => Self::Int(n.as_i64()?),
            (ParamType::Float, V::Number(n)) => Self::Float(n.as_f64()?),
            (ParamType::Bool, V::Bool(b)) => Self::Bool(*b),
            (ParamType::Str, V::String(s)) => Self::Str(s.clone()),
            (ParamType::Str, V::Number(n)) => Self::Str(n.to_string()),
            // Still encrypted: a run decrypts it with the lake's key.
            (ParamType::Secret, V::String(s)) => Self::Str(s.clone()),
            _ => return None,
        })
    }

    /// Parses a `--param name=value` value as `ty` (a secret is a string here: wrapping it
    /// needs the lake's key).
    pub fn parse(ty: ParamType, text: &str) -> Option<Self> {
        Some(match ty {
            ParamType::Int => Self::Int(text.trim().parse().ok()?),
            ParamType::Float => Self::Float(text.trim().parse().ok()?),
            ParamType::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Self::Bool(true),
                "false" | "0" | "no" | "off" => Self::Bool(false),
                _ => return None,
            },
            ParamType::Str | ParamType::Secret => Self::Str(text.to_string()),
        })
    }
}

/// The Python version when neither the model nor the project names one.
pub const DEFAULT_PYTHON: &str = "3.11";

/// A Python version and pinned packages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PythonSpec {
    pub version: Option<String>,
    pub packages: BTreeMap<String, String>,
}

impl PythonSpec {
    /// The version to run: the one named, else [`DEFAULT_PYTHON`].
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or(DEFAULT_PYTHON)
    }

    /// The pins as pip requirements. A bare version pins it exactly, except a major-only one
    /// (`"2"`), which means any `2.*` as it does to people; a version that is already a
    /// specifier (`">=2.1"`, `"~=1.5"`) is taken as written, and `""` or `"*"` means any.
    pub fn requirements(&self) -> Vec<String> {
        self.packages
            .iter()
            .map(|(name, version)| requirement(name, version))
            .collect()
    }

    /// Whether the pins name `package` (compared as pip does: case, `-`, `_` and `.` alike).
    pub fn pins(&self, package: &str) -> bool {
        self.packages
            .keys()
            .any(|name| normalize_package(name) == normalize_package(package))
    }
}

fn requirement(name: &str, version: &str) -> String {
    let v = version.trim();
    if v.is_empty() || v == "*" {
        name.to_string()
    } else if v.starts_with(['=', '<', '>', '!', '~']) {
        format!("{name}{v}")
    } else if v.chars().all(|c| c.is_ascii_digit()) {
        format!("{name}=={v}.*")
    } else {
        format!("{name}=={v}")
    }
}

/// A package name as PEP 503 compares them.
fn normalize_package(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// Whether `version` reads as a Python 3 version (`3.12`, `3.12.4`).
pub(crate) fn is_python_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    matches!(parts.len(), 2 | 3)
        && parts[0] == "3"
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// How a model's output is written to the lake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Materialization {
    /// Kept in memory for children; no table is written.
    #[default]
    None,
    Replace,
    Append,
    OverwritePartitions,
}

impl Materialization {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Replace => "REPLACE",
            Self::Append => "APPEND",
            Self::OverwritePartitions => "OVERWRITE_PARTITIONS",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_uppercase().as_str() {
            "NONE" => Self::None,
            "REPLACE" => Self::Replace,
            "APPEND" => Self::Append,
            "OVERWRITE_PARTITIONS" => Self::OverwritePartitions,
            _ => return None,
        })
    }
}

/// Resource limits for one function.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    pub memory_bytes: Option<u64>,
    pub cpus: Option<f64>,
    pub timeout_seconds: Option<u64>,
}

/// A node's input: a model of the project or a table of the lake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// The function argument it binds to (the table name for SQL models).
    pub argument: String,
    /// What it reads: a model name, or a lake table (`name` or `namespace.name`).
    pub source: String,
    /// Columns to read (`None` = all).
    pub columns: Option<Vec<String>>,
    /// A SQL predicate pushed into the scan.
    pub filter: Option<String>,
    /// Read the lake table at this ref instead of the run's.
    pub reference: Option<String>,
    pub line: usize,
}

/// What kind of node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeKind {
    /// A `.sql` file.
    Sql { sql: String },
    /// A `@model` function.
    Python { function: String },
    /// An `@expectation` function.
    Expectation { function: String },
}

/// A parameter used by a node, with where it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamUse {
    pub name: String,
    /// The function argument it binds to, for `Parameter(...)` defaults.
    pub argument: Option<String>,
    pub line: usize,
}

/// One node of the project DAG.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// File relative to the project directory.
    pub file: PathBuf,
    pub line: usize,
    pub inputs: Vec<Input>,
    pub parameters: Vec<ParamUse>,
    pub materialization: Materialization,
    /// Output columns the model declares (`columns=`), if any.
    pub columns: Option<Vec<String>>,
    pub partitioned_by: Option<String>,
    pub overwrite_filter: Option<String>,
    /// `cache_strategy="NONE"` opts out of reuse.
    pub cache: bool,
    pub internet_access: bool,
    pub python: Option<PythonSpec>,
    pub resources: Resources,
    /// The node's source (function text or SQL).
    pub source: String,
    /// The normalised code its fingerprint covers: SQL as parsed and printed back; for Python,
    /// its module without comments, spacing and the module's other nodes.
    pub code: String,
}

impl Node {
    pub(crate) fn new(name: String, kind: NodeKind, file: PathBuf, line: usize) -> Self {
        Self {
            name,
            kind,
            file,
            line,
            inputs: Vec::new(),
            parameters: Vec::new(),
            materialization: Materialization::None,
            columns: None,
            partitioned_by: None,
            overwrite_filter: None,
            cache: true,
            internet_access: false,
            python: None,
            resources: Resources::default(),
            source: String::new(),
            code: String::new(),
        }
    }

    pub fn is_expectation(&self) -> bool {
        matches!(self.kind, NodeKind::Expectation { .. })
    }
}

/// A Python version written as a number reads back as `3.1` for `3.10`: only numbers that
/// cannot have lost a trailing zero (`3.11`, `3.12`) are taken; others must be quoted.
pub(crate) fn python_version_from_number(v: f64) -> Option<String> {
    let text = v.to_string();
    let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
    (decimals >= 2).then_some(text)
}

/// Parses a size: `512MB`, `2GiB`, `1.5GB`, `256MiB` (or a bare number of bytes).
pub fn parse_memory(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    (n > 0.0).then_some((n * factor) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("512MB"), Some(512_000_000));
        assert_eq!(parse_memory("2GiB"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_memory("256 MiB"), Some(256 * 1024 * 1024));
        assert_eq!(parse_memory("lots"), None);
        assert_eq!(parse_memory("5TB"), None);
    }

    #[test]
    fn pins_become_requirements_with_major_only_pins_as_ranges() {
        let spec = PythonSpec {
            version: None,
            packages: [
                ("pandas", "2"),
                ("numpy", "1.26.4"),
                ("polars", ">=1.0,<2"),
                ("duckdb", ""),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        };
        assert_eq!(
            spec.requirements(),
            ["duckdb", "numpy==1.26.4", "pandas==2.*", "polars>=1.0,<2"]
        );
        assert!(spec.pins("Pandas") && !spec.pins("pyarrow"));
        assert_eq!(spec.version(), DEFAULT_PYTHON);
    }

    #[test]
    fn python_versions_are_three_dot_something() {
        assert!(is_python_version("3.12") && is_python_version("3.13.1"));
        assert!(!is_python_version("2.7") && !is_python_version("3") && !is_python_version("3.x"));
    }

    #[test]
    fn parameter_values_parse_by_type() {
        assert_eq!(
            ParamValue::parse(ParamType::Int, "42"),
            Some(ParamValue::Int(42))
        );
        assert_eq!(
            ParamValue::parse(ParamType::Bool, "yes"),
            Some(ParamValue::Bool(true))
        );
        assert_eq!(ParamValue::parse(ParamType::Float, "x"), None);
    }
}
