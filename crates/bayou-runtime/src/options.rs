//! [`RunOptions`]: what a run is asked to do, as values (no settings are read here).

use std::collections::BTreeMap;
use std::path::PathBuf;

use bayou_types::CommitId;

use crate::SandboxPolicy;

/// Which rows of each output a run's report keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preview {
    #[default]
    Off,
    /// The first rows.
    Head,
    /// The last rows.
    Tail,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The branch to publish into.
    pub branch: String,
    /// Namespace materialized models are written to (default: the project's, else `bayou`).
    pub namespace: Option<String>,
    /// Run everything in memory; write nothing.
    pub dry_run: bool,
    /// A failed expectation fails the run.
    pub strict: bool,
    /// `--param name=value` overrides.
    pub params: Vec<(String, String)>,
    /// Where environments and the runner are cached.
    pub cache_dir: PathBuf,
    /// Keep the first (or last) rows of every model's output in its report.
    pub preview: Preview,
    /// Write into a run branch merged only if everything passed (true), or straight into the
    /// target branch (`--no-transaction`: a failure may leave some tables written).
    pub transaction: bool,
    /// `-a key=value` arguments, recorded with the run.
    pub args: BTreeMap<String, String>,
    /// How many nodes may run at once (default: the number of cores).
    pub jobs: Option<usize>,
    /// Execute every node even when an earlier execution's output could be reused.
    pub no_cache: bool,
    /// `-m` patterns: run only these models (`MODEL`, `MODEL+`, `+MODEL`); none means all.
    pub select: Vec<String>,
    /// Read the data as of this commit instead of the branch's head (a replay).
    pub base: Option<String>,
    /// Where unselected models' tables are read from (default: the data commit).
    pub parents_from: Option<String>,
    /// Merge the run branch into the target on success (a replay keeps it apart by default).
    pub publish: bool,
    /// The run this one replays.
    pub replay_of: Option<String>,
    /// Commits to read `ref=` inputs at instead of where their refs point now (a replay).
    pub pinned_refs: BTreeMap<String, CommitId>,
    /// The uv that builds environments (`None`: bayou's own, fetched on first use).
    pub uv: Option<PathBuf>,
    /// How Python functions are isolated.
    pub sandbox: SandboxPolicy,
    /// Start functions from a warm zygote of their environment (else each in a new interpreter).
    pub warm_starts: bool,
    /// Where intermediate tables go (`None`: `/dev/shm/bayou-<uid>`, else under `cache_dir`).
    pub exchange_dir: Option<PathBuf>,
    /// Where Python nodes run when it is ready (the server's workers); `None`: here.
    pub dispatch: Option<crate::remote::Dispatcher>,
}

impl RunOptions {
    /// Options for an ordinary run into `branch`.
    pub fn new(branch: impl Into<String>, cache_dir: PathBuf) -> Self {
        Self {
            branch: branch.into(),
            namespace: None,
            dry_run: false,
            strict: false,
            params: vec![],
            cache_dir,
            preview: Preview::Off,
            transaction: true,
            args: BTreeMap::new(),
            jobs: None,
            no_cache: false,
            select: vec![],
            base: None,
            parents_from: None,
            publish: true,
            replay_of: None,
            pinned_refs: BTreeMap::new(),
            uv: None,
            sandbox: SandboxPolicy::Bubblewrap(None),
            warm_starts: true,
            exchange_dir: None,
            dispatch: None,
        }
    }
}
