//! What a run asks for, as it crosses from a client to whoever executes it.

use std::collections::BTreeMap;

use bayou_runtime::{Preview, RunOptions};
use serde::{Deserialize, Serialize};

/// The user's side of a run's options: what to run and how. The machine's side (caches, uv,
/// sandbox) belongs to whoever executes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub branch: String,
    pub namespace: Option<String>,
    pub dry_run: bool,
    pub strict: bool,
    pub params: Vec<(String, String)>,
    pub preview: Preview,
    pub transaction: bool,
    pub args: BTreeMap<String, String>,
    pub jobs: Option<usize>,
    pub no_cache: bool,
    pub select: Vec<String>,
}

impl RunSpec {
    /// The full options: these over the machine's `template`.
    pub fn over(&self, template: &RunOptions) -> RunOptions {
        let mut options = template.clone();
        options.branch = self.branch.clone();
        options.namespace = self.namespace.clone();
        options.dry_run = self.dry_run;
        options.strict = self.strict;
        options.params = self.params.clone();
        options.preview = self.preview;
        options.transaction = self.transaction;
        options.args = self.args.clone();
        options.jobs = self.jobs;
        options.no_cache = self.no_cache;
        options.select = self.select.clone();
        options
    }
}

/// A run to start: the project's code (its files, or only their hash when the other side has
/// them already) and the spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    /// SHA-256 of the project files, as `Project::code_hash` computes it.
    pub code_hash: String,
    /// The project files by relative path; empty when the executor has the snapshot already.
    pub files: Vec<(String, String)>,
    pub spec: RunSpec,
    /// Return once the run has started, leaving it running.
    pub detach: bool,
}

/// What a client hears of a run: events as they happen, then the record (or, detached, the id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum RunUpdate {
    Event {
        event: Box<bayou_runtime::Event>,
    },
    Finished {
        record: Box<bayou_runtime::RunRecord>,
    },
    Detached {
        run_id: String,
    },
}
