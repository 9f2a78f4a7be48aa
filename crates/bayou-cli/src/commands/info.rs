//! `bayou info`: where the lake is and what it holds.

use serde_json::json;

use super::Ctx;
use crate::output::emit_message;

pub(crate) async fn run(ctx: &Ctx, profile: &str) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    let active = catalog.active_branch().await?;
    let refs = catalog.list_refs().await?;
    let head = catalog.resolve(&active).await?.commit;
    let tables = catalog.list_tables(&head).await?.len();
    let branches = refs
        .iter()
        .filter(|r| r.kind == bayou_catalog::RefKind::Branch)
        .count();
    let value = json!({
        "profile": profile,
        "version": env!("CARGO_PKG_VERSION"),
        "lake": ctx.service.describe(),
        "active_branch": active,
        "head": head,
        "tables_on_active_branch": tables,
        "branches": branches,
        "tags": refs.len() - branches,
    });
    let text = format!(
        "profile:       {profile}\nversion:       bayou {}\nlake:          {}\nactive branch: {active} ({})\ntables:        {tables}\nbranches:      {branches}\ntags:          {}",
        env!("CARGO_PKG_VERSION"),
        ctx.service.describe(),
        head.short(),
        refs.len() - branches
    );
    emit_message(ctx.format, &value, &text)
}

/// `bayou version`: the CLI's version and what it runs functions with.
pub(crate) fn version(format: crate::cli::OutputFormat) -> anyhow::Result<()> {
    let value = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "runner": bayou_runtime::runner_version(),
        "uv": bayou_runtime::UV_VERSION,
        "default_python": bayou_runtime::DEFAULT_PYTHON,
    });
    let text = format!(
        "bayou {} (runner {}, uv {} when none is installed, Python {} by default)",
        env!("CARGO_PKG_VERSION"),
        bayou_runtime::runner_version(),
        bayou_runtime::UV_VERSION,
        bayou_runtime::DEFAULT_PYTHON
    );
    emit_message(format, &value, &text)
}
