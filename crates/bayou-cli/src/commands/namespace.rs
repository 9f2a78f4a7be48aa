//! `bayou namespace ls|create|rm`.

use serde_json::json;

use super::Ctx;
use crate::cli::NamespaceCommand;
use crate::output::{Listing, emit, emit_message, time};

pub(crate) async fn run(ctx: &Ctx, cmd: NamespaceCommand) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    match cmd {
        NamespaceCommand::Ls => {
            let all = catalog.list_namespaces().await?;
            let mut listing = Listing::new(vec!["namespace", "created"]);
            for ns in &all {
                listing.push(vec![ns.name.clone(), time(ns.created_ms)]);
            }
            emit(ctx.format, &all, listing)
        }
        NamespaceCommand::Create {
            name,
            if_not_exists,
        } => {
            let created = catalog.create_namespace(&name).await?;
            if !created && if_not_exists {
                return super::exists_already(ctx, "namespace", &name);
            }
            if !created {
                anyhow::bail!(
                    "namespace '{name}' already exists\n  hint: list them with `bayou namespace ls`"
                );
            }
            emit_message(
                ctx.format,
                &json!({"created": name}),
                &format!("created namespace {name}"),
            )
        }
        NamespaceCommand::Rm { name, if_exists } => {
            match catalog.delete_namespace(&name).await {
                Err(e) if if_exists && e.kind() == bayou_service::ErrorKind::UnknownNamespace => {
                    return super::nothing_to_remove(ctx, "namespace", &name);
                }
                other => other?,
            }
            emit_message(
                ctx.format,
                &json!({"removed": name}),
                &format!("removed namespace {name}"),
            )
        }
    }
}
