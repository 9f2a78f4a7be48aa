//! `bayou namespace ls|create|rm`.

use serde_json::json;

use super::Ctx;
use crate::cli::NamespaceCommand;
use crate::output::{Listing, emit, emit_message, time};

pub(crate) fn run(ctx: &Ctx, cmd: NamespaceCommand) -> anyhow::Result<()> {
    let catalog = ctx.lake.catalog();
    match cmd {
        NamespaceCommand::Ls => {
            let all = catalog.list_namespaces()?;
            let mut listing = Listing::new(vec!["namespace", "created"]);
            for ns in &all {
                listing.push(vec![ns.name.clone(), time(ns.created_ms)]);
            }
            emit(ctx.format, &all, listing)
        }
        NamespaceCommand::Create { name } => {
            let created = catalog.create_namespace(&name)?;
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
        NamespaceCommand::Rm { name } => {
            catalog.delete_namespace(&name)?;
            emit_message(
                ctx.format,
                &json!({"removed": name}),
                &format!("removed namespace {name}"),
            )
        }
    }
}
