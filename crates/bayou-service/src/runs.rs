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
    /// Set when the run replays an earlier one (`bayou rerun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

/// How a replay differs from a run: it reads the data commit the replayed run started from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    /// The run it replays.
    pub of: String,
    /// The commit to read from (the replayed run's base).
    pub base: String,
    /// The commit each `ref=` input resolved to then.
    pub pinned_refs: BTreeMap<String, bayou_types::CommitId>,
    /// Where the models before `--from` are read from.
    pub parents_from: Option<String>,
    /// Whether the target moves (`--publish`); else the output stays on the kept run branch.
    pub publish: bool,
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
        if let Some(replay) = &self.replay {
            options.replay_of = Some(replay.of.clone());
            options.base = Some(replay.base.clone());
            options.pinned_refs = replay.pinned_refs.clone();
            options.parents_from = replay.parents_from.clone();
            options.publish = replay.publish;
        }
        options
    }
}

/// A run to start: the project's code (its files, or only their hash when the other side has
/// them already) and the spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    /// SHA-256 of the project files, as `Project::code_hash` computes it; empty when `files`
    /// are sent unhashed (the loader then picks the project's files among them).
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
