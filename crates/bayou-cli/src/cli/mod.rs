//! Command-line arguments (clap types only; behaviour lives in `commands/`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod admin;
mod runs;
mod worker;

pub(crate) use admin::*;
pub(crate) use runs::*;
pub(crate) use worker::*;

#[derive(Debug, Parser)]
#[command(
    name = "bayou",
    version,
    about = "A serverless lakehouse for data pipelines: Iceberg tables under a git-like catalog",
    after_help = "Examples:\n  bayou demo load --rows 100000\n  bayou query \"SELECT COUNT(*) FROM taxi_fhvhv\"\n  bayou branch create feat_1 && bayou checkout feat_1\n\nThe lake is $BAYOU_LAKE, or --lake, or ~/.bayou/lake by default."
)]
pub struct Cli {
    /// Lake location: a local directory or s3://bucket/prefix [default: ~/.bayou/lake]
    #[arg(long, global = true, env = "BAYOU_LAKE", value_name = "DIR|s3://...")]
    pub lake: Option<String>,

    /// A bayou server to send commands to instead of a local lake [profile: remote]
    #[arg(
        long,
        global = true,
        env = "BAYOU_REMOTE",
        value_name = "http://HOST:PORT"
    )]
    pub remote: Option<String>,

    /// API key for --remote (made by `bayou server key create`) [profile: api_key]
    #[arg(
        long,
        global = true,
        env = "BAYOU_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,

    /// PEM file of the CA that signed an https:// server's certificate, trusted besides the
    /// system's [profile: ca_cert]
    #[arg(long, global = true, env = "BAYOU_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<std::path::PathBuf>,

    /// Output format
    #[arg(short = 'O', long = "output", global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Profile of ~/.bayou/config.toml to take settings from
    #[arg(
        short = 'P',
        long,
        global = true,
        env = "BAYOU_PROFILE",
        default_value = "default"
    )]
    pub profile: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable tables
    Table,
    /// Machine-readable JSON
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run SQL over the tables of a ref
    #[command(
        after_help = "Examples:\n  bayou query \"SELECT Borough, COUNT(*) FROM taxi_zones GROUP BY 1\"\n  bayou query -r v1 -f report.sql --all-rows --out report.parquet"
    )]
    Query(QueryArgs),
    /// List, inspect, create, import into, remove and revert tables
    #[command(subcommand)]
    Table(TableCommand),
    /// List, create, remove, rename, diff and merge branches
    #[command(subcommand)]
    Branch(BranchCommand),
    /// List, create and remove tags
    #[command(subcommand)]
    Tag(TagCommand),
    /// Show the commit history of a ref
    #[command(
        after_help = "Examples:\n  bayou log\n  bayou log feat_1 --limit 5\n  bayou log main --after 3f2a9c1b7d0e"
    )]
    Log(LogArgs),
    /// The commit log, as bauplan's `commit`: filters by message, author and property
    #[command(
        after_help = "Examples:\n  bayou commit\n  bayou commit main --author-name alice --limit 5 --format oneline\n  bayou commit --property bayou_run_id=20261122230501-3fa2c1 --format full"
    )]
    Commit(CommitArgs),
    /// Create a project: a project file with a fresh id and a starter model
    #[command(
        after_help = "Examples:\n  bayou init my_pipeline\n  bayou init . --name taxi_reports"
    )]
    Init(InitArgs),
    /// List, set and remove the parameters of a project (edits its project file)
    #[command(subcommand)]
    Parameter(ParameterCommand),
    /// Read and write settings of a profile in ~/.bayou/config.toml
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print bayou's version
    #[command(after_help = "Example:\n  bayou version -O json")]
    Version,
    /// List, create and remove namespaces
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Make a branch the active one (used when -r/-b is not given)
    #[command(
        after_help = "Examples:\n  bayou checkout feat_1\n  bayou checkout -b feat_2 --from-ref main"
    )]
    Checkout(CheckoutArgs),
    /// Show the lake's location, active branch and counts
    #[command(after_help = "Example:\n  bayou info -O json")]
    Info,
    /// Synthetic NYC-taxi-shaped demo data
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Run a pipeline project: models into a run branch, published only if everything passed
    #[command(
        after_help = "Examples:\n  bayou run -p examples/taxi_pipeline\n  bayou run -p my_project -r feat_1 --strict --param min_miles=2.5\n  bayou run -m pickups+ --no-cache\n  bayou run --dry-run\n\nExit codes: 0 success, 1 the run failed, 2 the project or the command line has a problem."
    )]
    Run(RunArgs),
    /// Replay a past run: its code snapshot over the data commit it started from
    #[command(
        after_help = "Examples:\n  bayou rerun 20261122230501-3fa2c1\n  bayou rerun 20261122230501-3fa2c1 --from pickups\n  bayou rerun 20261122230501-3fa2c1 --publish\n\nThe replay writes to a new run branch, which is kept; the run's target branch moves only with --publish."
    )]
    Rerun(RerunArgs),
    /// List past runs and show one (bauplan's `job`)
    #[command(subcommand, visible_alias = "job")]
    Runs(RunsCommand),
    /// List and prune the cached Python environments of Python models
    #[command(subcommand)]
    Env(EnvCommand),
    /// Remove what nothing needs: old failed runs' branches, and commits and files no ref's history reaches
    #[command(
        after_help = "Examples:\n  bayou gc --dry-run\n  bayou gc --older-than 1d --keep-runs-days 3 -O json\n  BAYOU_REMOTE=http://server:8181 BAYOU_API_KEY=ADMIN_KEY bayou gc\n\nA commit or file is removed only when no commit of any branch or tag reaches it and it was made before --older-than, so writes in flight are never touched. Successful runs' branches are gone already; failed and crashed runs keep theirs for --keep-runs-days. On a server, gc needs an admin key (`bayou server key create --user NAME --admin`)."
    )]
    Gc(GcArgs),
    /// Check the lake: every ref, every table version of its history, every file they name
    #[command(subcommand)]
    Lake(LakeCommand),
    /// Serve a lake to a team (gRPC and HTTP on one port), and manage its API keys
    #[command(
        after_help = "Examples:\n  bayou server --lake /data/lake --catalog postgres://bayou@db/lake --listen 127.0.0.1:8181\n  bayou server key create --user ada --lake /data/lake --catalog postgres://bayou@db/lake\n  BAYOU_REMOTE=http://127.0.0.1:8181 BAYOU_API_KEY=bayou_... bayou branch ls"
    )]
    Server(ServerArgs),
    /// Run a worker next to the data, attached to a server; `worker ls` lists a server's workers
    #[command(after_help = "Examples:
  bayou worker --server http://10.0.0.1:8181 --key bayou_... --cores 8 --memory 32GB
  bayou worker --server https://lake.example.com --key bayou_... --listen 0.0.0.0:8182 --advertise http://10.0.0.2:8182
  bayou --remote http://10.0.0.1:8181 worker ls

An admin makes the key with `bayou server key create --worker NAME`. The worker keeps one stream open to the server, sends heartbeats, attaches again when it breaks, and serves the outputs it holds to its peers over Arrow Flight.")]
    Worker(WorkerArgs),
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run (or use -f)
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from a file
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// Branch, tag or commit id to read [default: the active branch]
    #[arg(short = 'r', long = "ref")]
    pub reference: Option<String>,
    /// Rows to show
    #[arg(long, default_value_t = 10, conflicts_with = "all_rows")]
    pub max_rows: usize,
    /// Show every row
    #[arg(long)]
    pub all_rows: bool,
    /// Show long text values whole (they are cut at 80 characters by default)
    #[arg(long)]
    pub no_trunc: bool,
    /// Write all rows to a .parquet or .csv file instead of showing them
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// List tables
    #[command(
        after_help = "Examples:\n  bayou table ls -r main\n  bayou table ls --namespace raw --name trips"
    )]
    Ls {
        #[arg(short = 'r', long = "ref")]
        reference: Option<String>,
        /// Only tables in this namespace
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// Only tables whose name contains this text
        #[arg(long)]
        name: Option<String>,
    },
    /// Show a table's schema, row count, snapshot and Iceberg metadata location
    #[command(after_help = "Example:\n  bayou table get taxi_zones -r v1 -O json")]
    Get {
        name: String,
        #[arg(short = 'r', long = "ref")]
        reference: Option<String>,
    },
    /// Create a table from Parquet or CSV files (a path, a directory or a glob)
    #[command(
        after_help = "Examples:\n  bayou table create trips --search-uri 'data/trips_*.parquet'\n  bayou table create raw.zones --search-uri zones.csv -b feat_1\n  bayou table create trips --search-uri data/ --partitioned-by 'day(pickup_datetime)'"
    )]
    Create(WriteArgs),
    /// Write the plan of a new table (its columns and their types, conflicts between files) as
    /// YAML to edit before `create-plan-apply`
    #[command(
        after_help = "Examples:\n  bayou table create-plan trips --search-uri 'data/*.parquet' -p trips.yaml\n  bayou table create-plan-apply --plan trips.yaml"
    )]
    CreatePlan(CreatePlanArgs),
    /// Create a table as a plan from `create-plan` says
    #[command(after_help = "Example:\n  bayou table create-plan-apply --plan trips.yaml")]
    CreatePlanApply {
        /// The plan file
        #[arg(long)]
        plan: PathBuf,
    },
    /// Make a table of files bayou did not write, copying nothing: an Iceberg table's metadata
    /// file, or Parquet files
    #[command(
        after_help = "Examples:\n  bayou table create-external raw.events --metadata-json-uri /data/events/metadata/00003-ab12.metadata.json\n  bayou table create-external raw.trips --search-pattern '/data/trips/*.parquet'"
    )]
    CreateExternal {
        /// Table name: NAME or NAMESPACE.NAME
        name: String,
        /// An Iceberg table's current metadata file: a path, file:// or s3:// URI in the lake's store
        #[arg(
            long,
            value_name = "URI",
            required_unless_present = "search_pattern",
            conflicts_with = "search_pattern"
        )]
        metadata_json_uri: Option<String>,
        /// Parquet files: a path or glob, local for a local lake, in its bucket for an s3:// one
        /// (repeatable)
        #[arg(long, value_name = "PATTERN")]
        search_pattern: Vec<String>,
        /// Branch to register it on [default: the active branch]
        #[arg(short = 'b', long)]
        branch: Option<String>,
        /// Replace a table of that name on the branch
        #[arg(long)]
        overwrite: bool,
    },
    /// Append rows from Parquet or CSV files to an existing table
    #[command(
        after_help = "Examples:\n  bayou table import trips --search-uri data/2024-02.parquet -b feat_1\n  bayou table import trips --search-uri 'data/*.csv' --best-effort --continue-on-error\n\nFiles the table already holds (same path and size) are skipped unless --import-duplicate-files."
    )]
    Import(ImportArgs),
    /// Remove a table from a branch
    #[command(after_help = "Example:\n  bayou table rm trips -b feat_1 --if-exists")]
    Rm {
        name: String,
        #[arg(short = 'b', long)]
        branch: Option<String>,
        /// Succeed without doing anything if there is none
        #[arg(long)]
        if_exists: bool,
    },
    /// Set a table on a branch back to its state at another ref
    #[command(after_help = "Example:\n  bayou table revert trips --to-ref v1 -b main")]
    Revert {
        name: String,
        /// The ref whose version of the table to restore
        #[arg(long)]
        to_ref: String,
        #[arg(short = 'b', long)]
        branch: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CreatePlanArgs {
    /// Table name: NAME or NAMESPACE.NAME
    pub name: String,
    /// Files to read: a path, a directory or a glob of .parquet or .csv files, or s3:// objects
    /// (with --remote, local files are sent to the server; s3:// ones the server reads)
    #[arg(long)]
    pub search_uri: String,
    /// Branch to create it on [default: the active branch when applied]
    #[arg(short = 'b', long)]
    pub branch: Option<String>,
    /// Partitioning, e.g. 'day(pickup_datetime)'
    #[arg(long, value_name = "SPEC")]
    pub partitioned_by: Option<String>,
    /// Replace the table if it exists when applied
    #[arg(long)]
    pub replace: bool,
    /// Write the plan to this file instead of printing it
    #[arg(short = 'p', long = "save-plan", value_name = "FILE")]
    pub save_plan: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Table name: NAME or NAMESPACE.NAME
    pub name: String,
    /// Files to read: a path, a directory or a glob of .parquet or .csv files, or s3:// objects
    /// (with --remote, local files are sent to the server; s3:// ones the server reads)
    #[arg(long)]
    pub search_uri: String,
    /// Branch to write to [default: the active branch]
    #[arg(short = 'b', long)]
    pub branch: Option<String>,
    /// Import the columns that fit the table and report the others, instead of failing
    #[arg(long)]
    pub best_effort: bool,
    /// Skip files that cannot be read (and report them), instead of failing
    #[arg(long)]
    pub continue_on_error: bool,
    /// Import files the table already holds (same path and size) again
    #[arg(long)]
    pub import_duplicate_files: bool,
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Table name: NAME or NAMESPACE.NAME
    pub name: String,
    /// Files to read: a path, a directory or a glob of .parquet or .csv files, or s3:// objects
    /// (with --remote, local files are sent to the server; s3:// ones the server reads)
    #[arg(long)]
    pub search_uri: String,
    /// Branch to write to [default: the active branch]
    #[arg(short = 'b', long)]
    pub branch: Option<String>,
    /// Replace the table if it exists (create only)
    #[arg(long)]
    pub replace: bool,
    /// Partition a new table, e.g. 'day(pickup_datetime)' or 'PULocationID, bucket(16, id)'
    #[arg(long, value_name = "SPEC")]
    pub partitioned_by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BranchCommand {
    /// List branches
    #[command(after_help = "Example:\n  bayou branch ls")]
    Ls,
    /// Create a branch (O(1): no data is copied)
    #[command(after_help = "Example:\n  bayou branch create feat_1 --from-ref main")]
    Create {
        name: String,
        /// Branch, tag or commit to start from [default: the active branch]
        #[arg(long)]
        from_ref: Option<String>,
        /// Succeed without doing anything if it exists already
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Remove a branch
    #[command(after_help = "Example:\n  bayou branch rm feat_1 --if-exists")]
    Rm {
        name: String,
        /// Succeed without doing anything if there is none
        #[arg(long)]
        if_exists: bool,
    },
    /// Show a branch: its head and the tables on it
    #[command(after_help = "Example:\n  bayou branch get feat_1")]
    Get { name: String },
    /// Rename a branch
    #[command(after_help = "Example:\n  bayou branch rename feat_1 feat_taxi")]
    Rename { from: String, to: String },
    /// Tables that differ between two refs
    #[command(after_help = "Example:\n  bayou branch diff main feat_1")]
    Diff { a: String, b: String },
    /// Merge a ref into a branch
    #[command(after_help = "Example:\n  bayou branch merge feat_1 --into main")]
    Merge {
        source: String,
        /// Branch to merge into [default: the active branch]
        #[arg(long)]
        into: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// List tags
    #[command(after_help = "Example:\n  bayou tag ls")]
    Ls,
    /// Create a tag
    #[command(after_help = "Example:\n  bayou tag create v1 --from-ref main")]
    Create {
        name: String,
        #[arg(long)]
        from_ref: Option<String>,
        /// Succeed without doing anything if it exists already
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Remove a tag
    #[command(after_help = "Example:\n  bayou tag rm v1 --if-exists")]
    Rm {
        name: String,
        /// Succeed without doing anything if there is none
        #[arg(long)]
        if_exists: bool,
    },
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Branch, tag or commit [default: the active branch]
    pub reference: Option<String>,
    /// Commits to show
    #[arg(short = 'n', long, default_value_t = 20)]
    pub limit: usize,
    /// Start after this commit (for paging)
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory of the new project (created if missing)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Project name [default: the directory's name]
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ParameterCommand {
    /// List the project's parameters
    #[command(after_help = "Example:\n  bayou parameter ls -p my_pipeline")]
    Ls {
        #[arg(short = 'p', long = "project-dir", default_value = ".")]
        project_dir: PathBuf,
    },
    /// Add a parameter or change one (its default, type, description, whether it is required)
    #[command(
        after_help = "Examples:\n  bayou parameter set min_miles 1.5 --type float --description \"Shortest trip kept\"\n  bayou parameter set run_date --required\n  bayou parameter set api_token s3cr3t --type secret"
    )]
    Set {
        name: String,
        /// Its default value
        value: Option<String>,
        /// int, float, bool, str or secret (a secret's value is stored encrypted)
        #[arg(long = "type", value_name = "TYPE")]
        ty: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// A run must give it a value
        #[arg(long, conflicts_with = "optional")]
        required: bool,
        /// A run may leave it out
        #[arg(long)]
        optional: bool,
        #[arg(short = 'p', long = "project-dir", default_value = ".")]
        project_dir: PathBuf,
    },
    /// Remove a parameter
    #[command(after_help = "Example:\n  bayou parameter rm min_miles")]
    Rm {
        name: String,
        #[arg(short = 'p', long = "project-dir", default_value = ".")]
        project_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show a setting of the profile, or all of them
    #[command(after_help = "Examples:\n  bayou config get lake\n  bayou config get --all -P team")]
    Get {
        key: Option<String>,
        /// Every setting of the profile
        #[arg(short = 'a', long, conflicts_with = "key")]
        all: bool,
    },
    /// Change a setting of the profile (created if new)
    #[command(
        after_help = "Examples:\n  bayou config set lake s3://lake/prod -P team\n  bayou config set git_branch off\n  bayou config set active_branch dev\n\nKeys: lake, active_branch, git_branch."
    )]
    Set { key: String, value: String },
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Branch, tag or commit [default: the active branch]
    pub reference: Option<String>,
    /// Only commits whose message matches this regular expression
    #[arg(long)]
    pub message: Option<String>,
    /// Only commits whose author matches this regular expression
    #[arg(long)]
    pub author_name: Option<String>,
    /// Only commits with this property (repeatable: all must match)
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// Commits to show
    #[arg(
        short = 'n',
        long = "max-count",
        visible_alias = "limit",
        default_value_t = 10
    )]
    pub limit: usize,
    /// How much of each commit to show
    #[arg(long, visible_alias = "pretty", value_enum, default_value_t = CommitFormat::Medium)]
    pub format: CommitFormat,
}

/// git's commit formats, as bauplan's `commit --format` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommitFormat {
    Oneline,
    Short,
    Medium,
    Full,
    Fuller,
}

#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// List namespaces
    #[command(after_help = "Example:\n  bayou namespace ls")]
    Ls,
    /// Create a namespace
    #[command(after_help = "Example:\n  bayou namespace create raw --if-not-exists")]
    Create {
        name: String,
        /// Succeed without doing anything if it exists already
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Remove an empty namespace
    #[command(after_help = "Example:\n  bayou namespace rm raw --if-exists")]
    Rm {
        name: String,
        /// Succeed without doing anything if there is none
        #[arg(long)]
        if_exists: bool,
    },
}

#[derive(Debug, Args)]
pub struct CheckoutArgs {
    pub branch: String,
    /// Create the branch first
    #[arg(short = 'b')]
    pub create: bool,
    /// With -b: the branch, tag or commit to start from [default: the active branch]
    #[arg(long, requires = "create")]
    pub from_ref: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Load the synthetic taxi_fhvhv and taxi_zones tables into a branch
    #[command(after_help = "Example:\n  bayou demo load --rows 1000000")]
    Load {
        /// Rows of taxi_fhvhv
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(short = 'b', long)]
        branch: Option<String>,
    },
    /// Write the demo data as Parquet files to a directory (no lake involved)
    #[command(after_help = "Example:\n  bayou demo write --rows 10000000 --out /tmp/taxi")]
    Write {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

/// A size argument: `16GB`, `512MiB`.
pub(crate) fn size(text: &str) -> Result<u64, String> {
    bayou_project::parse_memory(text).ok_or_else(|| "expected a size like 16GB or 512MiB".into())
}
