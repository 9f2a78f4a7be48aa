//! [`Embedded`]'s tables made of files: plan, create, apply a plan, import, register.

use std::sync::Arc;

use bayou_catalog::RefKind;
use bayou_lake::{Progress, SourceFiles, WriteMode, WriteOutcome};
use bayou_types::{DEFAULT_NAMESPACE, TableKey};

use crate::imports::{FileSource, create_hint, no_host_files, survey};
use crate::{
    Embedded, Error, ExternalRequest, ImportRequest, Imported, Result, Service, TablePlan,
    TableRequest,
};

fn key(name: &str) -> Result<TableKey> {
    TableKey::parse(name, DEFAULT_NAMESPACE).map_err(|e| Error::Usage(e.to_string()))
}

impl Embedded {
    /// The branch given, or the caller's active one.
    async fn branch_or_active(&self, given: Option<&str>) -> Result<String> {
        match given {
            Some(b) => Ok(b.to_string()),
            None => self.active_branch().await,
        }
    }

    /// Refuses a write to `table` on `branch` (or the active one) that `mode` cannot make,
    /// before any file is read: a server checks this before it takes an upload.
    pub async fn check_write(
        &self,
        table: &str,
        branch: Option<&str>,
        mode: WriteMode,
    ) -> Result<()> {
        let branch = self.branch_or_active(branch).await?;
        self.lake.check_write(&branch, &key(table)?, mode).await?;
        Ok(())
    }

    pub(crate) async fn plan_files(
        &self,
        request: &TableRequest,
        files: &FileSource,
    ) -> Result<TablePlan> {
        let (survey, _staging) = survey(files, false, self.host_files).await?;
        Ok(TablePlan::infer(request, &survey))
    }

    pub(crate) async fn create_from_files(
        &self,
        request: &TableRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        let (survey, _staging) = survey(files, false, self.host_files).await?;
        let plan = TablePlan::infer(request, &survey);
        let schema = plan.schema(files.uri(), &create_hint(request, files.uri()))?;
        let source = survey.into_source(Arc::new(schema));
        self.write_plan(&plan, &source, progress).await
    }

    pub(crate) async fn apply_plan(
        &self,
        plan: &TablePlan,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        let schema = plan.schema(
            &format!("the plan of {}", plan.table),
            "set each column's type in the plan, delete its conflict, then apply it again",
        )?;
        let (survey, _staging) = survey(files, false, self.host_files).await?;
        let source = survey.into_source(Arc::new(schema));
        self.write_plan(plan, &source, progress).await
    }

    /// Creates (or with `replace` replaces) the table of `plan` from `source`.
    async fn write_plan(
        &self,
        plan: &TablePlan,
        source: &SourceFiles,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        let branch = self.branch_or_active(plan.branch.as_deref()).await?;
        let mode = match plan.replace {
            true => WriteMode::Replace,
            false => WriteMode::Create,
        };
        Ok(self
            .lake
            .write_files(
                &branch,
                &key(&plan.table)?,
                mode,
                source,
                plan.partitioned_by.as_deref(),
                progress,
            )
            .await?)
    }

    pub(crate) async fn import_files(
        &self,
        request: &ImportRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<Imported> {
        let branch = self.branch_or_active(request.branch.as_deref()).await?;
        let key = key(&request.table)?;
        if !matches!(
            self.lake.resolve(&branch).await?.reference,
            Some((_, RefKind::Branch))
        ) {
            return Err(bayou_catalog::Error::NotABranch(branch).into());
        }
        let table = self.lake.table_at(&branch, &key).await?;
        let (mut survey, _staging) =
            survey(files, request.continue_on_error, self.host_files).await?;
        let mut notes: Vec<String> = survey
            .skipped
            .iter()
            .map(|(f, why)| format!("skipped {f}: {why}"))
            .collect();
        if !request.import_duplicate_files {
            let held = table.imported_files();
            survey.retain(|identity, origin| {
                let keep = !held.contains(identity);
                if !keep {
                    notes.push(format!(
                        "skipped {origin}: the table has it already (--import-duplicate-files imports it again)"
                    ));
                }
                keep
            });
            if survey.files.is_empty() {
                return Ok(Imported {
                    outcome: None,
                    notes,
                });
            }
        }
        let incoming = survey.merged_schema(
            "import the files that disagree separately, each with the columns the table has",
        )?;
        let schema = match request.best_effort {
            false => incoming,
            true => {
                let (fits, rest) =
                    bayou_lake::fitting_columns(table.arrow_schema()?.as_ref(), &incoming);
                notes.extend(rest.into_iter().map(|r| format!("left out {r}")));
                Arc::new(fits)
            }
        };
        let source = survey.into_source(schema);
        let outcome = self
            .lake
            .write_files(&branch, &key, WriteMode::Append, &source, None, progress)
            .await?;
        Ok(Imported {
            outcome: Some(outcome),
            notes,
        })
    }

    pub(crate) async fn register_external(
        &self,
        request: &ExternalRequest,
    ) -> Result<WriteOutcome> {
        let branch = self.branch_or_active(request.branch.as_deref()).await?;
        let key = key(&request.table)?;
        let named = request
            .metadata_json_uri
            .iter()
            .chain(&request.search_patterns);
        for uri in named {
            if !self.host_files && !uri.starts_with("s3://") {
                return Err(no_host_files(uri));
            }
        }
        Ok(match &request.metadata_json_uri {
            Some(uri) => {
                self.lake
                    .register_table(&branch, &key, uri, request.overwrite)
                    .await?
            }
            None => {
                self.lake
                    .register_files(&branch, &key, &request.search_patterns, request.overwrite)
                    .await?
            }
        })
    }
}
