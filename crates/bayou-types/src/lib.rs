//! Names and identifiers shared by every bayou crate: [`TableKey`], [`CommitId`] and the
//! validation of branch, tag and namespace names.
//!
//! Entry point: [`TableKey::parse`]. Trade-off: names are validated once, at the edge (CLI, SDK,
//! server), into small owned types; the rest of the system can then format them into paths and
//! SQL identifiers without re-checking.

mod auth;

use std::fmt;

pub use auth::{bearer_token, constant_time_eq};

use serde::{Deserialize, Serialize};

/// The namespace a bare table name resolves in.
pub const DEFAULT_NAMESPACE: &str = "bayou";

/// bauplan's name for its default namespace: an alias of [`DEFAULT_NAMESPACE`] wherever a
/// namespace is named, so `bauplan.taxi_zones` is `bayou.taxi_zones`.
pub const DEFAULT_NAMESPACE_ALIAS: &str = "bauplan";

/// The namespace `name` stands for: itself, or the default one for its alias.
pub fn canonical_namespace(name: &str) -> &str {
    if name == DEFAULT_NAMESPACE_ALIAS {
        DEFAULT_NAMESPACE
    } else {
        name
    }
}

/// Errors from parsing user-supplied names.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(
        "invalid {what} name '{name}': {reason}\n  hint: names use letters, digits, '_' and '-', and start with a letter or '_'"
    )]
    InvalidName {
        what: &'static str,
        name: String,
        reason: &'static str,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks a branch, tag, namespace or table name.
///
/// Branch and tag names may also contain `/` and `.` (`feat/x`, `v1.2`), so they read like git
/// refs; namespace and table names are SQL identifiers.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let invalid = |reason| Error::InvalidName {
        what,
        name: name.to_string(),
        reason,
    };
    let ref_like = matches!(what, "branch" | "tag");
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(invalid("it is empty")),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err(invalid("it must start with a letter or '_'"));
        }
        _ => {}
    }
    if name.len() > 200 {
        return Err(invalid("it is longer than 200 characters"));
    }
    let ok = |c: char| {
        c.is_ascii_alphanumeric() || c == '_' || c == '-' || (ref_like && (c == '/' || c == '.'))
    };
    if !name.chars().all(ok) {
        return Err(invalid("it contains a character that is not allowed"));
    }
    if ref_like && (name.contains("..") || name.ends_with('/') || name.contains("//")) {
        return Err(invalid("it has an empty path segment or '..'"));
    }
    Ok(())
}

/// A table's full name: `namespace.name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableKey {
    pub namespace: String,
    pub name: String,
}

impl TableKey {
    /// Builds a key from validated parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Result<Self> {
        let namespace = namespace.into();
        let key = Self {
            namespace: canonical_namespace(&namespace).to_string(),
            name: name.into(),
        };
        validate_name("namespace", &key.namespace)?;
        validate_name("table", &key.name)?;
        Ok(key)
    }

    /// Parses `name` (in `default_namespace`) or `namespace.name`.
    pub fn parse(text: &str, default_namespace: &str) -> Result<Self> {
        match text.split_once('.') {
            Some((ns, name)) => Self::new(ns, name),
            None => Self::new(default_namespace, text),
        }
    }
}

impl fmt::Display for TableKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// A catalog commit id: 64 hex characters (SHA-256 of the commit's content).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitId(String);

impl CommitId {
    /// Wraps a full-length hex id.
    pub fn from_hex(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, as shown to people.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }

    /// Whether `text` could be a (possibly abbreviated) commit id.
    pub fn looks_like(text: &str) -> bool {
        text.len() >= 6 && text.len() <= 64 && text.chars().all(|c| c.is_ascii_hexdigit())
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bauplan_names_the_default_namespace() {
        let key = TableKey::parse("bauplan.taxi_zones", "other").unwrap();
        assert_eq!(key.to_string(), "bayou.taxi_zones");
        assert_eq!(
            TableKey::new("bauplan", "t").unwrap().namespace,
            DEFAULT_NAMESPACE
        );
        assert_eq!(canonical_namespace("raw"), "raw");
    }

    #[test]
    fn bare_names_resolve_in_the_default_namespace() {
        let key = TableKey::parse("trips", "bayou").unwrap();
        assert_eq!(key.to_string(), "bayou.trips");
        let key = TableKey::parse("raw.trips", "bayou").unwrap();
        assert_eq!(
            (key.namespace.as_str(), key.name.as_str()),
            ("raw", "trips")
        );
    }

    #[test]
    fn names_with_sql_metacharacters_are_rejected() {
        assert!(TableKey::parse("a;drop", "bayou").is_err());
        assert!(TableKey::parse("1abc", "bayou").is_err());
        assert!(TableKey::parse("", "bayou").is_err());
        assert!(TableKey::parse("a.b.c", "bayou").is_err());
    }

    #[test]
    fn branch_names_may_look_like_git_refs() {
        assert!(validate_name("branch", "feat/new-model").is_ok());
        assert!(validate_name("tag", "v1.2").is_ok());
        assert!(validate_name("branch", "a..b").is_err());
        assert!(validate_name("namespace", "a/b").is_err());
    }
}
