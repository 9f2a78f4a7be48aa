//! Tables made of files (`table create`, `create-plan`, `create-plan-apply`, `import`): the
//! requests, the table plan, and how the lake's side reads the files.
//!
//! A plan lists the columns found in the files with the type each will be stored as, and the
//! conflicts (a column with different types in different files), which are listed, never
//! guessed: the user picks the type and removes the conflict. Creating a table is planning and
//! applying at once, refused while there are conflicts.

use std::str::FromStr;

use arrow::datatypes::{DataType, Field, Schema};
use bayou_lake::{NamedFile, Survey, WriteOutcome};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The widest fixed-size binary column a plan may ask for (a UUID is 16 bytes): a plan comes
/// from the user, and a column absent from the files is filled with nulls of its width.
const MAX_FIXED_BYTES: i32 = 4096;

/// Where a table's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A path, directory or glob on the caller's machine, or `s3://` objects the lake's side
    /// reads with its own credentials. A server reads no path of its own host: a client sends
    /// the files instead.
    Uri(String),
    /// Files a client sent, saved on this machine: where each one is now, where it came from
    /// (errors name it so) and the hash of its bytes (later imports know it by that). `uri` is
    /// what the client asked for.
    Sent { uri: String, files: Vec<NamedFile> },
}

impl FileSource {
    /// What the user named the files by.
    pub fn uri(&self) -> &str {
        match self {
            Self::Uri(uri) | Self::Sent { uri, .. } => uri,
        }
    }

    /// Whether the files are objects in a store rather than paths on a machine.
    pub fn is_object_store(&self) -> bool {
        self.uri().starts_with("s3://")
    }
}

/// Make table `table` on `branch` (`table create`, `create-plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRequest {
    /// `name` or `namespace.name`.
    pub table: String,
    /// The branch [default: the caller's active branch].
    pub branch: Option<String>,
    pub partitioned_by: Option<String>,
    /// Replace the table if it exists.
    pub replace: bool,
}

/// Append files to table `table` on `branch` (`table import`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    pub table: String,
    pub branch: Option<String>,
    /// Leave out files that cannot be read (and say so) instead of failing.
    pub continue_on_error: bool,
    /// Import files the table holds already.
    pub import_duplicate_files: bool,
    /// Import only the columns the table has, leaving the others out (and saying so).
    pub best_effort: bool,
}

/// Register files that stay where they are as table `table` on `branch`
/// (`table create-external`): an Iceberg table's metadata file, or Parquet files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRequest {
    pub table: String,
    pub branch: Option<String>,
    pub metadata_json_uri: Option<String>,
    pub search_patterns: Vec<String>,
    pub overwrite: bool,
}

/// What an import did: its write (none when every file was there already) and what it left out.
#[derive(Debug, Clone)]
pub struct Imported {
    pub outcome: Option<WriteOutcome>,
    pub notes: Vec<String>,
}

/// A table plan, as written to and read from YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePlan {
    /// `namespace.name`.
    pub table: String,
    pub search_uri: String,
    /// The branch to create it on [default: the active branch].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioned_by: Option<String>,
    /// Replace the table if it exists.
    #[serde(default)]
    pub replace: bool,
    pub columns: Vec<PlannedColumn>,
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedColumn {
    pub name: String,
    /// The Arrow type it is stored as (`Int64`, `Float64`, `Utf8`, `Timestamp(µs)`, ...).
    #[serde(rename = "type")]
    pub ty: String,
    /// The types the files have (for reading; apply ignores it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    pub column: String,
    /// Each type, with a file that has it.
    pub types: Vec<String>,
    pub resolve: String,
}

impl TablePlan {
    /// The plan for the files of `survey` as the table `request` asks for.
    pub fn infer(request: &TableRequest, survey: &Survey) -> Self {
        let mut columns = Vec::new();
        let mut conflicts = Vec::new();
        for c in survey.columns() {
            let names: Vec<String> = c.types.iter().map(|(t, _)| t.to_string()).collect();
            if c.types.len() > 1 {
                conflicts.push(Conflict {
                    column: c.name.clone(),
                    types: c
                        .types
                        .iter()
                        .map(|(t, file)| format!("{t} in {file}"))
                        .collect(),
                    resolve: format!(
                        "set the type of column {} to one of {} (or a type they all cast to), then delete this conflict",
                        c.name,
                        names.join(", ")
                    ),
                });
            }
            columns.push(PlannedColumn {
                name: c.name.clone(),
                ty: names[0].clone(),
                in_files: match c.in_files < survey.files.len() {
                    true => vec![format!(
                        "in {} of {} files (null in the others)",
                        c.in_files,
                        survey.files.len()
                    )],
                    false => names,
                },
            });
        }
        Self {
            table: request.table.clone(),
            search_uri: survey.uri.clone(),
            branch: request.branch.clone(),
            partitioned_by: request.partitioned_by.clone(),
            replace: request.replace,
            columns,
            conflicts,
        }
    }

    /// The schema the plan asks for; an error names any problem (conflicts left, bad types)
    /// in `file`, with `hint` on what to do about conflicts.
    pub fn schema(&self, file: &str, hint: &str) -> Result<Schema> {
        if !self.conflicts.is_empty() {
            let list: Vec<String> = self
                .conflicts
                .iter()
                .map(|c| format!("{}: {}", c.column, c.types.join(", ")))
                .collect();
            return Err(Error::Usage(format!(
                "{file} has {} unresolved conflict(s):\n    {}\n  hint: {hint}",
                list.len(),
                list.join("\n    ")
            )));
        }
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        for c in &self.columns {
            match DataType::from_str(&c.ty) {
                Ok(DataType::FixedSizeBinary(n)) if n > MAX_FIXED_BYTES => problems.push(format!(
                    "column {}: FixedSizeBinary({n}) is wider than {MAX_FIXED_BYTES} bytes",
                    c.name
                )),
                Ok(t) => fields.push(Field::new(&c.name, t, true)),
                Err(e) => problems.push(format!("column {}: '{}' is no type ({e})", c.name, c.ty)),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Usage(format!(
                "{file}: {}\n  hint: types are written as Arrow prints them: Int64, Float64, Utf8, Boolean, Date32, Timestamp(µs)",
                problems.join("; ")
            )));
        }
        Ok(Schema::new(fields))
    }
}

/// What `table create` says when the files disagree: the plan commands that let the user pick.
pub(crate) fn create_hint(request: &TableRequest, uri: &str) -> String {
    let mut flags = String::new();
    if let Some(b) = &request.branch {
        flags.push_str(&format!(" -b {b}"));
    }
    if let Some(p) = &request.partitioned_by {
        flags.push_str(&format!(" --partitioned-by '{p}'"));
    }
    if request.replace {
        flags.push_str(" --replace");
    }
    format!(
        "the files disagree: `bayou table create-plan {} --search-uri '{uri}'{flags} -p plan.yaml` writes a plan to pick the types in, then `bayou table create-plan-apply --plan plan.yaml`",
        request.table
    )
}

/// The files of `source` surveyed on this machine, fetching `s3://` objects into a staging
/// directory that lives as long as the returned guard. `host_files`: whether paths of this
/// machine may be read (not for a server's callers).
pub(crate) async fn survey(
    source: &FileSource,
    skip_bad: bool,
    host_files: bool,
) -> Result<(Survey, tempfile::TempDir)> {
    let staging = tempfile::Builder::new()
        .prefix("bayou-import-")
        .tempdir()
        .map_err(|e| Error::Usage(format!("cannot make a staging directory: {e}")))?;
    let survey = match source {
        FileSource::Sent { uri, files } => Survey::of_named(uri, files.clone(), skip_bad)?,
        FileSource::Uri(uri) if host_files || source.is_object_store() => {
            Survey::of_uri(uri, skip_bad, staging.path()).await?
        }
        FileSource::Uri(uri) => return Err(no_host_files(uri)),
    };
    Ok((survey, staging))
}

/// A server's caller named a path on the server's machine.
pub(crate) fn no_host_files(uri: &str) -> Error {
    Error::Forbidden(format!(
        "a server reads no files of its own machine ('{uri}')\n  hint: name s3:// objects, or local files from the bayou CLI, which sends them"
    ))
}

/// The plan of local files or `s3://` objects, surveyed on this machine.
pub async fn plan_here(request: &TableRequest, uri: &str) -> Result<TablePlan> {
    let (survey, _staging) = survey(&FileSource::Uri(uri.to_string()), false, true).await?;
    Ok(TablePlan::infer(request, &survey))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_and_parse_back() {
        for t in [
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Boolean,
            DataType::Date32,
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
        ] {
            assert_eq!(DataType::from_str(&t.to_string()).unwrap(), t, "{t}");
        }
    }
}
