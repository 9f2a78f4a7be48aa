//! `bayou server` (serve a lake to a team) and `bayou server key create|ls|revoke`.

use anyhow::Context as _;
use bayou_catalog::KeyKind;
use bayou_lake::{Lake, LakeLocation};
use serde_json::json;

use crate::cli::{KeyCommand, OutputFormat, ServerArgs, ServerCommand};
use crate::output::{Listing, emit, emit_message, out, time};

pub(crate) async fn run(
    format: OutputFormat,
    args: ServerArgs,
    location_text: &str,
) -> anyhow::Result<()> {
    let lake = open(location_text, args.catalog.as_deref()).await?;
    match args.command {
        None => serve(format, lake, &args).await,
        Some(ServerCommand::Key(cmd)) => key(format, &lake, cmd).await,
    }
}

/// The lake with the catalog the server uses (`--catalog`, else the lake's own).
async fn open(location_text: &str, catalog: Option<&str>) -> anyhow::Result<Lake> {
    let location = LakeLocation::parse(location_text)?;
    let mut settings = crate::settings::lake_settings();
    if let Some(url) = catalog {
        // A bare path is a SQLite file.
        settings.catalog = Some(match url.contains(':') {
            true => url.to_string(),
            false => format!("sqlite:{url}"),
        });
    }
    Lake::open(&location, &settings)
        .await
        .with_context(|| format!("cannot open the lake at {}", location.display()))
}

async fn serve(format: OutputFormat, lake: Lake, args: &ServerArgs) -> anyhow::Result<()> {
    let listen = &args.listen;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(bayou_server::Tls::from_pem_files(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = super::listen_on(listen).await?;
    let addr = listener.local_addr()?;
    let location = lake.location().display();
    // The first line names the address (one line even in JSON), so scripts and tests that
    // started the server on port 0 find it.
    match format {
        OutputFormat::Json => out(&serde_json::to_string(
            &json!({"listening": format!("{scheme}://{addr}"), "lake": location}),
        )?)?,
        OutputFormat::Table => out(&format!(
            "bayou server listening on {scheme}://{addr} (lake {location}); Ctrl-C stops it"
        ))?,
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let runs = crate::settings::run_options(String::new());
    let options = bayou_server::Options {
        keep_logs: std::time::Duration::from_secs(u64::from(args.keep_logs_days) * 86_400),
        tls,
        worker_heartbeat: args.worker_heartbeat,
        local_worker: !args.no_local_worker,
        distribute_above: args.distribute_above,
    };
    bayou_server::serve(lake, runs, options, listener, shutdown).await?;
    Ok(())
}

async fn key(format: OutputFormat, lake: &Lake, cmd: KeyCommand) -> anyhow::Result<()> {
    let catalog = lake.catalog();
    match cmd {
        KeyCommand::Create {
            user,
            admin,
            worker,
        } => {
            let (name, kind) = match (worker, user) {
                (Some(name), _) => (name, KeyKind::Worker),
                (None, Some(user)) if admin => (user, KeyKind::Admin),
                (None, Some(user)) => (user, KeyKind::User),
                (None, None) => anyhow::bail!("name the key's --user or --worker"),
            };
            let made = catalog.create_api_key(&name, kind).await?;
            if format == OutputFormat::Json {
                return out(&serde_json::to_string_pretty(&json!({
                    "id": made.key.id, "user": made.key.user, "key": made.token,
                    "admin": made.key.admin, "worker": made.key.worker,
                }))?);
            }
            let (what, usage) = match kind {
                KeyKind::Worker => (
                    "worker key",
                    "start the worker with `bayou worker --server URL --key KEY`",
                ),
                KeyKind::Admin => (
                    "admin key",
                    "use it with --api-key, BAYOU_API_KEY or `bayou config set api_key`",
                ),
                KeyKind::User => (
                    "key",
                    "use it with --api-key, BAYOU_API_KEY or `bayou config set api_key`",
                ),
            };
            out(&format!(
                "{}\n{what} {} for {name}: shown once, keep it secret ({usage})",
                made.token, made.key.id
            ))
        }
        KeyCommand::Ls => {
            let keys = catalog.list_api_keys().await?;
            let mut listing = Listing::new(vec!["id", "user", "kind", "created", "revoked"]);
            for k in &keys {
                let kind = k.kind().name();
                listing.push(vec![
                    k.id.clone(),
                    k.user.clone(),
                    kind.to_string(),
                    time(k.created_ms),
                    k.revoked_ms.map_or("-".into(), time),
                ]);
            }
            emit(format, &keys, listing)
        }
        KeyCommand::Revoke { id } => {
            catalog.revoke_api_key(&id).await?;
            emit_message(
                format,
                &json!({"revoked": id}),
                &format!("revoked key {id}"),
            )
        }
    }
}
