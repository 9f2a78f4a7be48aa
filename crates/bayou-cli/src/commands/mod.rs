//! One module per command; [`run`] opens the lake and dispatches.

mod branch;
mod commit;
mod config;
mod demo;
mod info;
mod init;
mod log;
mod maintain;
mod namespace;
mod parameter;
mod query;
mod run;
mod server;
mod table;
mod table_plan;
mod tag;
mod worker;

use std::sync::Arc;

use anyhow::Context as _;
use bayou_lake::{Lake, LakeLocation};
use bayou_service::{Embedded, Service};
use bayou_types::{DEFAULT_NAMESPACE, TableKey};

use crate::cli::{Cli, Command, OutputFormat};

/// What every command gets: the service (the lake in this process, or a server), the output
/// format and the profile's settings.
pub(crate) struct Ctx {
    /// The lake, when it is opened in this process (not with --remote).
    lake: Option<Lake>,
    pub(crate) service: Arc<dyn Service>,
    pub(crate) format: OutputFormat,
    pub(crate) profile: crate::profile::Profile,
}

impl Ctx {
    /// The lake opened in this process; commands not yet served by a server say so.
    pub(crate) fn lake(&self) -> anyhow::Result<&Lake> {
        self.lake.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "this step needs the lake opened in this process, not a server\n  hint: run it without --remote / BAYOU_REMOTE"
            )
        })
    }

    /// Whether the lake is opened in this process (no --remote).
    pub(crate) fn is_embedded(&self) -> bool {
        self.lake.is_some()
    }

    /// The given ref, or the active branch.
    pub(crate) async fn reference(&self, given: Option<&str>) -> anyhow::Result<String> {
        match given {
            Some(r) => Ok(r.to_string()),
            None => Ok(self.service.active_branch().await?),
        }
    }

    pub(crate) fn key(&self, name: &str) -> anyhow::Result<TableKey> {
        Ok(TableKey::parse(name, DEFAULT_NAMESPACE)?)
    }
}

/// `--if-not-exists` met an existing `what`: success, and say so.
fn exists_already(ctx: &Ctx, what: &str, name: &str) -> anyhow::Result<()> {
    crate::output::emit_message(
        ctx.format,
        &serde_json::json!({"created": null, "exists": name}),
        &format!("{what} {name} exists already: nothing to do"),
    )
}

/// `--if-exists` found no `what` of that name: success, and say so.
fn nothing_to_remove(ctx: &Ctx, what: &str, name: &str) -> anyhow::Result<()> {
    crate::output::emit_message(
        ctx.format,
        &serde_json::json!({"removed": null}),
        &format!("no {what} {name}: nothing to remove"),
    )
}

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Demo(crate::cli::DemoCommand::Write { rows, out }) = &cli.command {
        return demo::write_files(*rows, out, cli.output).await;
    }
    if let Command::Version = cli.command {
        return info::version(cli.output);
    }
    let profile = crate::profile::load(&cli.profile)?;
    // --lake and BAYOU_LAKE, else the profile's lake, else the default one.
    let location_text = cli
        .lake
        .clone()
        .or_else(|| profile.lake.clone())
        .unwrap_or_else(crate::settings::default_lake);
    let open = async |text: &str| -> anyhow::Result<Lake> {
        let location = LakeLocation::parse(text)?;
        Lake::open(&location, &crate::settings::lake_settings())
            .await
            .with_context(|| format!("cannot open the lake at {}", location.display()))
    };
    // Commands that need no lake (nor a server: a bad server URL does not stop them).
    let remote = match cli.command {
        Command::Config(_)
        | Command::Init(_)
        | Command::Env(_)
        | Command::Server(_)
        | Command::Parameter(_) => Ok(None),
        Command::Worker(ref args) if args.command.is_none() => Ok(None),
        _ => remote_of(&cli, &profile),
    };
    // `parameter` reaches the lake (for a secret's key) only when it needs it.
    let lazy_remote = match cli.command {
        Command::Parameter(_) => remote_of(&cli, &profile),
        _ => Ok(None),
    };
    let remote = remote?;
    match cli.command {
        Command::Config(cmd) => {
            return config::run(cli.output, &cli.profile, cmd, async || {
                open(&location_text).await
            })
            .await;
        }
        Command::Init(args) => return init::run(cli.output, &args),
        Command::Parameter(cmd) => {
            return parameter::run(cli.output, cmd, async || match lazy_remote? {
                Some(remote) => Ok(Arc::new(remote) as Arc<dyn Service>),
                None => {
                    Ok(Arc::new(Embedded::new(open(&location_text).await?)) as Arc<dyn Service>)
                }
            })
            .await;
        }
        _ => {}
    }
    // Environments live in the cache, not the lake: no need to open one.
    if let Command::Env(cmd) = cli.command {
        return run::env(cli.output, cmd);
    }
    if let Command::Server(args) = cli.command {
        return server::run(cli.output, args, &location_text).await;
    }
    let ca_pem = match cli.command {
        Command::Worker(_) => ca_pem_of(&cli, &profile)?,
        _ => None,
    };
    if let Command::Worker(args) = cli.command {
        return worker::run(cli.output, args, remote, ca_pem).await;
    }
    if let Some(remote) = remote {
        let ctx = Ctx {
            lake: None,
            service: Arc::new(remote),
            format: cli.output,
            profile,
        };
        return dispatch(&ctx, cli).await;
    }
    let lake = open(&location_text).await?;
    embedded(lake, profile, cli).await
}

/// Runs `cli` on `lake` in this process, keeping the caches it used within their sizes.
async fn embedded(
    mut lake: Lake,
    profile: crate::profile::Profile,
    cli: Cli,
) -> anyhow::Result<()> {
    // Only the commands that scan data or run pipelines touch the caches (and their settings).
    let scans = matches!(
        cli.command,
        Command::Query(_) | Command::Run(_) | Command::Rerun(_)
    );
    let runs = matches!(cli.command, Command::Run(_) | Command::Rerun(_));
    // Data files read from object storage are kept locally; later scans fetch only the rest.
    let scan_cache = match scans {
        true => Some(std::sync::Arc::new(bayou_lake::ScanCache::new(
            crate::settings::cache_dir().join("scans"),
            crate::settings::size_setting("BAYOU_SCAN_CACHE_SIZE", 10 << 30)?,
        ))),
        false => None,
    }
    .filter(|cache| lake.use_scan_cache(cache.clone()));
    let node_cache_size = match runs {
        true => Some(crate::settings::size_setting(
            "BAYOU_NODE_CACHE_SIZE",
            20 << 30,
        )?),
        false => None,
    };
    let ctx = Ctx {
        service: Arc::new(Embedded::with_runs(
            lake.clone(),
            crate::settings::run_options(String::new()),
        )),
        lake: Some(lake),
        format: cli.output,
        profile,
    };
    let outcome = dispatch(&ctx, cli).await;
    // Keep the caches within their sizes, least recently used out first.
    if let Some(cache) = scan_cache {
        cache.trim();
    }
    if let Some(max) = node_cache_size {
        bayou_runtime::trim_node_cache(&crate::settings::cache_dir(), max);
    }
    outcome
}

/// A listener on `addr` (`HOST:PORT`), or an error saying how to pick another.
pub(crate) async fn listen_on(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr}\n  hint: pick another address with --listen HOST:PORT")
    })
}

/// The server the flags or the profile name (`--remote`, `BAYOU_REMOTE`, `remote`), if any.
fn remote_of(
    cli: &Cli,
    profile: &crate::profile::Profile,
) -> anyhow::Result<Option<bayou_client::Remote>> {
    let Some(url) = cli.remote.clone().or_else(|| profile.remote.clone()) else {
        return Ok(None);
    };
    let key = cli.api_key.clone().or_else(|| profile.api_key.clone());
    let ca_pem = ca_pem_of(cli, profile)?;
    if key.is_some() {
        note_if_in_clear("API key", &url)?;
    }
    Ok(Some(bayou_client::Remote::new(
        &url,
        key.as_deref(),
        ca_pem.as_deref(),
    )?))
}

/// The CA certificate to trust for an https:// server (`--ca-cert`, `BAYOU_CA_CERT`, the
/// profile's `ca_cert`), read.
fn ca_pem_of(cli: &Cli, profile: &crate::profile::Profile) -> anyhow::Result<Option<Vec<u8>>> {
    let ca_cert = cli
        .ca_cert
        .clone()
        .or_else(|| profile.ca_cert.clone().map(Into::into));
    let Some(path) = ca_cert else {
        return Ok(None);
    };
    let pem = std::fs::read(&path).map_err(|e| {
        crate::output::Exit::usage(format!(
            "cannot read the CA certificate {}: {e}",
            path.display()
        ))
    })?;
    Ok(Some(pem))
}

/// Says so when a key (`what`) would cross the network to `url` in the clear.
pub(crate) fn note_if_in_clear(what: &str, url: &str) -> anyhow::Result<()> {
    if bayou_client::sends_in_clear(url) {
        crate::output::note(&format!(
            "the {what} crosses the network to {url} unencrypted; serve with `bayou server --tls-cert ... --tls-key ...` and use https://"
        ))?;
    }
    Ok(())
}

async fn dispatch(ctx: &Ctx, cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Query(args) => query::run(ctx, args).await,
        Command::Table(cmd) => table::run(ctx, cmd).await,
        Command::Branch(cmd) => branch::run(ctx, cmd).await,
        Command::Tag(cmd) => tag::run(ctx, cmd).await,
        Command::Log(args) => log::run(ctx, args).await,
        Command::Commit(args) => commit::run(ctx, args).await,
        Command::Version | Command::Config(_) | Command::Init(_) | Command::Parameter(_) => {
            unreachable!("handled above")
        }
        Command::Namespace(cmd) => namespace::run(ctx, cmd).await,
        Command::Checkout(args) => branch::checkout(ctx, &args).await,
        Command::Info => info::run(ctx, &cli.profile).await,
        Command::Demo(crate::cli::DemoCommand::Load { rows, branch }) => {
            demo::load(ctx, rows, branch.as_deref()).await
        }
        Command::Demo(crate::cli::DemoCommand::Write { .. }) => unreachable!("handled above"),
        Command::Run(args) => run::run(ctx, args).await,
        Command::Rerun(args) => run::rerun(ctx, args).await,
        Command::Runs(cmd) => run::runs(ctx, cmd).await,
        Command::Gc(args) => maintain::gc(ctx, args).await,
        Command::Lake(crate::cli::LakeCommand::Check) => maintain::check(ctx).await,
        Command::Env(_) | Command::Server(_) | Command::Worker(_) => {
            unreachable!("handled above")
        }
    }
}
