//! Arguments of `server`, `gc` and `lake`: serving and keeping a lake.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    /// The catalog database: postgres://USER@HOST/DB or sqlite:PATH [default: the lake's own]
    #[arg(
        long,
        global = true,
        env = "BAYOU_CATALOG_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub catalog: Option<String>,

    /// Address to listen on (port 0 picks a free one; the address is printed)
    #[arg(long, default_value = "127.0.0.1:8181", value_name = "HOST:PORT")]
    pub listen: String,

    /// Days finished runs keep their nodes' logs (the rest of each record stays)
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub keep_logs_days: u32,

    /// Serve https with this PEM certificate chain (with --tls-key); clients then use https://
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<std::path::PathBuf>,

    /// How often attached workers send heartbeats; one that misses three is lost
    #[arg(long, default_value = "2s", value_parser = heartbeat, value_name = "DURATION")]
    pub worker_heartbeat: std::time::Duration,

    /// Run no Python function in the server's own process: with no worker attached, a run's
    /// Python nodes fail, saying so (SQL models still run in the server)
    #[arg(long)]
    pub no_local_worker: bool,

    /// Queries scanning at least this much Parquet run across the attached workers
    /// (datafusion-distributed), e.g. 512MB [default: every query runs in the server]. Workers
    /// then read the lake's files where they lie: give them the same path to it
    #[arg(long, value_parser = super::size, value_name = "SIZE")]
    pub distribute_above: Option<u64>,

    #[command(subcommand)]
    pub command: Option<ServerCommand>,
}

/// A heartbeat interval: at least 100 ms (a shorter one would lose workers to scheduling noise).
fn heartbeat(text: &str) -> Result<std::time::Duration, String> {
    let every = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if every < std::time::Duration::from_millis(100) {
        return Err("at least 100ms".into());
    }
    Ok(every)
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create, list and revoke the API keys of the server's users
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a key for a user or a worker: printed once, only its hash is kept
    #[command(
        after_help = "Examples:\n  bayou server key create --user ada --lake /data/lake --catalog postgres://bayou@db/lake\n  bayou server key create --user ops --admin --lake /data/lake\n  bayou server key create --worker gpu-1 --lake /data/lake"
    )]
    Create {
        /// The user the key acts as: the author of their commits and the owner of their runs
        #[arg(long, required_unless_present = "worker", conflicts_with = "worker")]
        user: Option<String>,
        /// The key may also do what changes the whole lake (`bayou gc` over the server)
        #[arg(long, conflicts_with = "worker")]
        admin: bool,
        /// A key for `bayou worker` with this name: it attaches a worker and can call nothing
        /// else (no user's data, no catalog)
        #[arg(long, value_name = "NAME")]
        worker: Option<String>,
    },
    /// List keys (ids, users, when made and revoked; never the secrets)
    #[command(after_help = "Example:\n  bayou server key ls --lake /data/lake -O json")]
    Ls,
    /// Revoke a key by its id: calls with it fail from now on
    #[command(after_help = "Example:\n  bayou server key revoke 3fa2c1d4e5f6 --lake /data/lake")]
    Revoke {
        /// The key's id (as `key ls` shows it) or the whole key
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// List what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Keep files no ref reaches until they are this old (a write in flight is younger)
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub older_than: std::time::Duration,
    /// Keep the run branches of failed and crashed runs for this many days
    #[arg(long, default_value_t = 7)]
    pub keep_runs_days: u32,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Verify that every ref resolves, every table version parses and every file exists
    #[command(
        after_help = "Examples:\n  bayou lake check\n  bayou lake check -O json\n\nExit codes: 0 the lake is whole, 1 problems were found (each is listed)."
    )]
    Check,
}
