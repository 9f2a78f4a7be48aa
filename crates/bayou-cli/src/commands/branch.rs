//! `bayou branch ls|create|rm|rename|diff|merge` and `bayou checkout`.

use bayou_catalog::RefKind;
use bayou_lake::MergeOutcome;
use serde_json::json;

use super::Ctx;
use crate::cli::BranchCommand;
use crate::output::{Listing, emit, emit_message};

pub(crate) async fn run(ctx: &Ctx, cmd: BranchCommand) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    match cmd {
        BranchCommand::Ls => {
            let active = catalog.active_branch().await?;
            let branches: Vec<_> = catalog
                .list_refs()
                .await?
                .into_iter()
                .filter(|r| r.kind == RefKind::Branch)
                .collect();
            let mut listing = Listing::new(vec!["", "branch", "head"]);
            for b in &branches {
                let mark = if b.name == active { "*" } else { "" };
                listing.push(vec![
                    mark.into(),
                    b.name.clone(),
                    b.head.short().to_string(),
                ]);
            }
            let value: Vec<_> = branches
                .iter()
                .map(|b| json!({"name": b.name, "head": b.head, "active": b.name == active}))
                .collect();
            emit(ctx.format, &value, listing)
        }
        BranchCommand::Create {
            name,
            from_ref,
            if_not_exists,
        } => {
            let from = ctx.reference(from_ref.as_deref()).await?;
            let r = match catalog.create_ref(&name, RefKind::Branch, &from).await {
                Err(e) if if_not_exists && e.kind() == bayou_service::ErrorKind::RefExists => {
                    return super::exists_already(ctx, "branch", &name);
                }
                other => other?,
            };
            emit_message(
                ctx.format,
                &r,
                &format!("created branch {name} from {from} at {}", r.head.short()),
            )
        }
        BranchCommand::Get { name } => get(ctx, name).await,
        BranchCommand::Rm { name, if_exists } => {
            let r = match catalog.delete_ref(&name, RefKind::Branch).await {
                Err(e) if if_exists && e.kind() == bayou_service::ErrorKind::UnknownRef => {
                    return super::nothing_to_remove(ctx, "branch", &name);
                }
                other => other?,
            };
            emit_message(
                ctx.format,
                &json!({"removed": r}),
                &format!("removed branch {name}"),
            )
        }
        BranchCommand::Rename { from, to } => {
            catalog.rename_branch(&from, &to).await?;
            emit_message(
                ctx.format,
                &json!({"renamed": from, "to": to}),
                &format!("renamed branch {from} to {to}"),
            )
        }
        BranchCommand::Diff { a, b } => diff(ctx, a, b).await,
        BranchCommand::Merge { source, into } => merge(ctx, source, into).await,
    }
}

pub(crate) async fn checkout(ctx: &Ctx, args: &crate::cli::CheckoutArgs) -> anyhow::Result<()> {
    let branch = args.branch.as_str();
    if args.create {
        let from = ctx.reference(args.from_ref.as_deref()).await?;
        ctx.service
            .create_ref(branch, RefKind::Branch, &from)
            .await?;
    }
    ctx.service.set_active_branch(branch).await?;
    emit_message(
        ctx.format,
        &json!({"active_branch": branch}),
        &format!("switched to branch {branch}"),
    )
}

async fn get(ctx: &Ctx, name: String) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    let resolved = catalog.resolve(&name).await?;
    if !matches!(&resolved.reference, Some((_, RefKind::Branch))) {
        return Err(bayou_catalog::Error::NotABranch(name).into());
    }
    let tables = catalog.list_tables(&resolved.commit).await?;
    let mut listing = Listing::new(vec!["namespace", "table", "snapshot"]);
    for (key, state) in &tables {
        let snap = state.snapshot_id.map_or("-".into(), |s| s.to_string());
        listing.push(vec![key.namespace.clone(), key.name.clone(), snap]);
    }
    let value = json!({
        "name": name,
        "head": resolved.commit,
        "tables": tables.iter().map(|(k, s)| json!({
            "namespace": k.namespace, "name": k.name,
            "snapshot_id": s.snapshot_id, "metadata_location": s.metadata_location,
        })).collect::<Vec<_>>(),
    });
    if ctx.format == crate::cli::OutputFormat::Table {
        crate::output::out(&format!(
            "branch {name} at {}, {} table(s)",
            resolved.commit.short(),
            tables.len()
        ))?;
    }
    emit(ctx.format, &value, listing)
}

async fn diff(ctx: &Ctx, a: String, b: String) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    let (ca, cb) = (
        catalog.resolve(&a).await?.commit,
        catalog.resolve(&b).await?.commit,
    );
    let diff = catalog.diff(&ca, &cb).await?;
    let mut listing = Listing::new(vec!["table", "change", "snapshot in A", "snapshot in B"]);
    let snap = |s: &Option<bayou_catalog::TableState>| {
        s.as_ref()
            .and_then(|s| s.snapshot_id)
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into())
    };
    for d in &diff {
        listing.push(vec![
            d.key.to_string(),
            d.change().into(),
            snap(&d.from),
            snap(&d.to),
        ]);
    }
    let value: Vec<_> = diff
        .iter()
        .map(|d| json!({"table": d.key.to_string(), "change": d.change(), "a": d.from, "b": d.to}))
        .collect();
    if diff.is_empty() && ctx.format == crate::cli::OutputFormat::Table {
        return crate::output::out(&format!("no table differs between {a} and {b}"));
    }
    emit(ctx.format, &value, listing)
}

async fn merge(ctx: &Ctx, source: String, into: Option<String>) -> anyhow::Result<()> {
    let into = ctx.reference(into.as_deref()).await?;
    let outcome = ctx.service.merge(&source, &into).await?;
    let text = match &outcome {
        MergeOutcome::UpToDate { .. } => format!("{into} already contains {source}"),
        MergeOutcome::FastForward { head } => {
            format!(
                "merged {source} into {into} (fast-forward to {})",
                head.short()
            )
        }
        MergeOutcome::Merged {
            head,
            combined,
            tables_changed,
        } => {
            let mut t = format!(
                "merged {source} into {into}: commit {}, {tables_changed} table(s) changed",
                head.short()
            );
            if !combined.is_empty() {
                t.push_str(&format!("; appends combined for {}", combined.join(", ")));
            }
            t
        }
    };
    emit_message(ctx.format, &outcome, &text)
}
