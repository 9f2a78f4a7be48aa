//! Arguments of `worker`: the data plane's process, and the list of a server's workers.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WorkerArgs {
    /// The server to attach to (http://HOST:PORT or https://)
    #[arg(
        long,
        env = "BAYOU_WORKER_SERVER",
        value_name = "URL",
        required = false
    )]
    pub server: Option<String>,

    /// The worker key (`bayou server key create --worker NAME`)
    #[arg(
        long,
        env = "BAYOU_WORKER_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub key: Option<String>,

    /// Cores offered to nodes [default: the machine's]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cores: Option<u32>,

    /// Memory offered to nodes, e.g. 16GB [default: the machine's]
    #[arg(long, value_name = "SIZE", value_parser = super::size)]
    pub memory: Option<u64>,

    /// Environments, cached outputs and intermediate tables [default: BAYOU_CACHE_DIR, else ~/.cache/bayou]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Where the worker serves its outputs to peers (Arrow Flight); port 0 picks a free one
    #[arg(long, default_value = "0.0.0.0:8182", value_name = "HOST:PORT")]
    pub listen: String,

    /// The URL peers reach the Flight endpoint at [default: http:// and the address this
    /// machine reaches the server from]
    #[arg(long, value_name = "URL")]
    pub advertise: Option<String>,

    #[command(subcommand)]
    pub command: Option<WorkerCommand>,
}

#[derive(Debug, Subcommand)]
pub enum WorkerCommand {
    /// List the workers attached to the server (and the ones lost lately): capacity, running
    /// nodes, memory, shared memory and cache sizes
    #[command(
        after_help = "Examples:\n  BAYOU_REMOTE=http://server:8181 BAYOU_API_KEY=bayou_... bayou worker ls\n  bayou --remote http://server:8181 worker ls -O json"
    )]
    Ls,
}
