//! `bayou tag ls|create|rm`.

use bayou_catalog::RefKind;
use serde_json::json;

use super::Ctx;
use crate::cli::TagCommand;
use crate::output::{Listing, emit, emit_message};

pub(crate) async fn run(ctx: &Ctx, cmd: TagCommand) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    match cmd {
        TagCommand::Ls => {
            let tags: Vec<_> = catalog
                .list_refs()
                .await?
                .into_iter()
                .filter(|r| r.kind == RefKind::Tag)
                .collect();
            let mut listing = Listing::new(vec!["tag", "commit"]);
            for t in &tags {
                listing.push(vec![t.name.clone(), t.head.short().to_string()]);
            }
            emit(ctx.format, &tags, listing)
        }
        TagCommand::Create {
            name,
            from_ref,
            if_not_exists,
        } => {
            let from = ctx.reference(from_ref.as_deref()).await?;
            let r = match catalog.create_ref(&name, RefKind::Tag, &from).await {
                Err(e) if if_not_exists && e.kind() == bayou_service::ErrorKind::RefExists => {
                    return super::exists_already(ctx, "tag", &name);
                }
                other => other?,
            };
            emit_message(
                ctx.format,
                &r,
                &format!("created tag {name} at {} ({from})", r.head.short()),
            )
        }
        TagCommand::Rm { name, if_exists } => {
            let r = match catalog.delete_ref(&name, RefKind::Tag).await {
                Err(e) if if_exists && e.kind() == bayou_service::ErrorKind::UnknownRef => {
                    return super::nothing_to_remove(ctx, "tag", &name);
                }
                other => other?,
            };
            emit_message(
                ctx.format,
                &json!({"removed": r}),
                &format!("removed tag {name}"),
            )
        }
    }
}
