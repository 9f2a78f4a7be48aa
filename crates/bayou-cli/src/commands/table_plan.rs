//! `bayou table create-plan` / `create-plan-apply`: creating a table in two steps, as bauplan
//! does. The plan is a YAML file: the columns found in the files with the type each will be
//! stored as, the partitioning, and the conflicts (a column with different types in different
//! files), which are listed, never guessed: the user picks the type and removes the conflict.
//! `table create` is both steps at once, and refuses while there are conflicts.

use std::path::Path;
use std::str::FromStr;

use arrow::datatypes::{DataType, Field, Schema};
use bayou_lake::{Survey, WriteMode};
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::output::Exit;

/// A table plan, as written to and read from YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TablePlan {
    /// `namespace.name`.
    pub(crate) table: String,
    pub(crate) search_uri: String,
    /// The branch to create it on [default: the active branch].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) partitioned_by: Option<String>,
    /// Replace the table if it exists.
    #[serde(default)]
    pub(crate) replace: bool,
    pub(crate) columns: Vec<PlannedColumn>,
    #[serde(default)]
    pub(crate) conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlannedColumn {
    pub(crate) name: String,
    /// The Arrow type it is stored as (`Int64`, `Float64`, `Utf8`, `Timestamp(µs)`, ...).
    #[serde(rename = "type")]
    pub(crate) ty: String,
    /// The types the files have (for reading; apply ignores it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) in_files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Conflict {
    pub(crate) column: String,
    /// Each type, with a file that has it.
    pub(crate) types: Vec<String>,
    pub(crate) resolve: String,
}

impl TablePlan {
    /// The plan for files `uri` as table `table`.
    pub(crate) fn infer(
        table: &str,
        survey: &Survey,
        branch: Option<String>,
        partitioned_by: Option<String>,
        replace: bool,
    ) -> Self {
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
            table: table.to_string(),
            search_uri: survey.uri.clone(),
            branch,
            partitioned_by,
            replace,
            columns,
            conflicts,
        }
    }

    /// The schema the plan asks for; an error names any problem (conflicts left, bad types),
    /// with `hint` on what to do about conflicts.
    pub(crate) fn schema(&self, file: &str, hint: &str) -> anyhow::Result<Schema> {
        if !self.conflicts.is_empty() {
            let list: Vec<String> = self
                .conflicts
                .iter()
                .map(|c| format!("{}: {}", c.column, c.types.join(", ")))
                .collect();
            return Err(Exit::usage(format!(
                "{file} has {} unresolved conflict(s):\n    {}\n  hint: {hint}",
                list.len(),
                list.join("\n    ")
            ))
            .into());
        }
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        for c in &self.columns {
            match DataType::from_str(&c.ty) {
                Ok(t) => fields.push(Field::new(&c.name, t, true)),
                Err(e) => problems.push(format!("column {}: '{}' is no type ({e})", c.name, c.ty)),
            }
        }
        if !problems.is_empty() {
            return Err(Exit::usage(format!(
                "{file}: {}\n  hint: types are written as Arrow prints them: Int64, Float64, Utf8, Boolean, Date32, Timestamp(µs)",
                problems.join("; ")
            ))
            .into());
        }
        Ok(Schema::new(fields))
    }
}

/// Applies `plan`: creates the table from its files, each column stored as the plan says.
pub(crate) async fn apply(ctx: &Ctx, plan: &TablePlan, file: &str) -> anyhow::Result<()> {
    let schema = std::sync::Arc::new(plan.schema(
        file,
        "set each column's type in the plan, delete its conflict, then apply it again",
    )?);
    let branch = ctx.reference(plan.branch.as_deref()).await?;
    let key = ctx.key(&plan.table)?;
    let staging = tempfile::Builder::new().prefix("bayou-import-").tempdir()?;
    let source = Survey::of_uri(&plan.search_uri, false, staging.path())
        .await?
        .into_source(schema);
    let mode = match plan.replace {
        true => WriteMode::Replace,
        false => WriteMode::Create,
    };
    super::table::write_source(
        ctx,
        &branch,
        &key,
        mode,
        &source,
        plan.partitioned_by.as_deref(),
    )
    .await
}

/// Reads a plan file.
pub(crate) fn read(path: &Path) -> anyhow::Result<TablePlan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Exit::usage(format!("cannot read the plan {}: {e}", path.display())))?;
    serde_yaml::from_str(&text)
        .map_err(|e| Exit::usage(format!("{} is not a table plan: {e}", path.display())).into())
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
