//! Arguments of `run`, `rerun`, `job` and `env`: running pipelines and looking at runs.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List cached environments, most recently used first
    #[command(after_help = "Example:\n  bayou env ls -O json")]
    Ls,
    /// Remove environments not used for a while (they rebuild from uv's cache in well under a second)
    #[command(after_help = "Examples:\n  bayou env prune --keep-days 7\n  bayou env prune --all")]
    Prune {
        /// Keep environments used within this many days
        #[arg(long, default_value_t = 30, conflicts_with = "all")]
        keep_days: u64,
        /// Remove every environment
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Project directory (holds bayou_project.yml or bauplan_project.yml)
    #[arg(short = 'p', long = "project-dir", default_value = ".")]
    pub project_dir: PathBuf,
    /// Branch to publish into [default: the active branch]
    #[arg(short = 'r', long = "ref")]
    pub reference: Option<String>,
    /// Namespace for materialized models [default: the project's, else bayou]
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Run everything in memory and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Fail the run when an expectation returns False
    #[arg(long)]
    pub strict: bool,
    /// Override a parameter: --param name=value (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Show rows of each model's output: on or head (the first), tail (the last), off
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "on", default_value = "off")]
    pub preview: PreviewArg,
    /// Write straight into the target branch instead of a run branch merged only if everything
    /// passed (a failed run may then leave some tables written)
    #[arg(long)]
    pub no_transaction: bool,
    /// A KEY=VALUE argument recorded with the run (repeatable; accepted as bauplan's -a)
    #[arg(short = 'a', long = "arg", value_name = "KEY=VALUE")]
    pub args: Vec<String>,
    /// How many nodes may run at once [default: the number of cores]
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Run only this model (MODEL), with its descendants (MODEL+) or its ancestors (+MODEL);
    /// repeatable. Unselected models it reads come from the cache or the lake
    #[arg(short = 'm', long = "select", value_name = "MODEL")]
    pub select: Vec<String>,
    /// Execute every node, even those whose code, environment, parameters and inputs did not
    /// change since an earlier execution (their cached outputs are refreshed)
    #[arg(long)]
    pub no_cache: bool,
    /// Return once the run has started on the server, leaving it running (prints its id)
    #[arg(short = 'd', long)]
    pub detach: bool,
}

/// `--preview` values, as bauplan spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewArg {
    On,
    Off,
    Head,
    Tail,
}

#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The run to replay (see `bayou runs ls`)
    pub run_id: String,
    /// Re-execute only this model and its descendants; the models before it come from the
    /// cache or from the tables the replayed run published
    #[arg(long, value_name = "MODEL")]
    pub from: Option<String>,
    /// Merge the replay into the run's target branch when it succeeds
    #[arg(long)]
    pub publish: bool,
    /// Fail the replay when an expectation returns False
    #[arg(long)]
    pub strict: bool,
    /// How many nodes may run at once [default: the number of cores]
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first
    #[command(
        after_help = "Examples:\n  bayou job ls\n  bayou job ls --status failed --user ada --branch main -n 50\n  bayou job ls --kind rerun -O json"
    )]
    Ls {
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: usize,
        /// Only runs with this status
        #[arg(long, value_enum)]
        status: Option<RunStatusArg>,
        /// Only runs of this user
        #[arg(long)]
        user: Option<String>,
        /// Only runs of this kind
        #[arg(long, value_enum)]
        kind: Option<RunKindArg>,
        /// Only runs into this branch
        #[arg(long)]
        branch: Option<String>,
    },
    /// Show one run: status, per-node timings, rows and logs
    #[command(
        visible_alias = "get",
        after_help = "Examples:\n  bayou runs show 20261122230501-3fa2c1\n  bayou job get 20261122230501-3fa2c1"
    )]
    Show { run_id: String },
    /// Print a run's log lines; --follow shows them live until the run ends (from a server)
    #[command(
        after_help = "Examples:\n  bayou job logs 20261122230501-3fa2c1\n  bayou job logs 20261122230501-3fa2c1 --follow"
    )]
    Logs {
        run_id: String,
        /// Keep printing as the run goes on, until it ends
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Stop a run that is going on: its functions are killed and its target is unchanged
    #[command(after_help = "Example:\n  bayou job stop 20261122230501-3fa2c1")]
    Stop { run_id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunStatusArg {
    Running,
    Succeeded,
    Failed,
    /// Its process died before it finished.
    Crashed,
}

impl RunStatusArg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Crashed => "crashed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunKindArg {
    Run,
    DryRun,
    Rerun,
}

impl RunKindArg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::DryRun => "dry-run",
            Self::Rerun => "rerun",
        }
    }
}
