//! `bayou commit [REF]`: bauplan's commit log. First-parent history, newest first, filtered by
//! message, author and properties (regular expressions for the first two), in git's formats.

use std::fmt::Write as _;

use bayou_catalog::Commit;
use regex::Regex;

use super::Ctx;
use crate::cli::{CommitArgs, CommitFormat, OutputFormat};
use crate::output::{Exit, out, time};

/// What a commit must match to be listed.
struct Filter {
    message: Option<Regex>,
    author: Option<Regex>,
    properties: Vec<(String, String)>,
}

impl Filter {
    fn from_args(args: &CommitArgs) -> anyhow::Result<Self> {
        let regex = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<Regex>> {
            text.as_deref()
                .map(|t| {
                    Regex::new(t).map_err(|e| {
                        anyhow::Error::from(Exit::usage(format!(
                            "{flag} {t}: not a regular expression: {e}"
                        )))
                    })
                })
                .transpose()
        };
        let mut properties = Vec::new();
        for p in &args.properties {
            let Some((k, v)) = p.split_once('=') else {
                return Err(Exit::usage(format!("--property {p}: expected KEY=VALUE")).into());
            };
            properties.push((k.to_string(), v.to_string()));
        }
        Ok(Self {
            message: regex("--message", &args.message)?,
            author: regex("--author-name", &args.author_name)?,
            properties,
        })
    }

    fn matches(&self, c: &Commit) -> bool {
        self.message.as_ref().is_none_or(|r| r.is_match(&c.message))
            && self.author.as_ref().is_none_or(|r| r.is_match(&c.author))
            && self
                .properties
                .iter()
                .all(|(k, v)| c.properties.get(k) == Some(v))
    }
}

pub(crate) async fn run(ctx: &Ctx, args: CommitArgs) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    let filter = Filter::from_args(&args)?;
    let reference = ctx.reference(args.reference.as_deref()).await?;
    let head = catalog.resolve(&reference).await?.commit;
    let mut commits = Vec::new();
    // First-parent history in pages (one call each when the lake is remote), filtered here.
    let mut at = Some(head);
    while let Some(from) = at.take()
        && commits.len() < args.limit
    {
        let page = catalog.log(&from, 500, None).await?;
        at = page.last().and_then(|c| c.parents.first().cloned());
        commits.extend(page.into_iter().filter(|c| filter.matches(c)));
    }
    commits.truncate(args.limit);
    if ctx.format == OutputFormat::Json {
        return out(&serde_json::to_string_pretty(&commits)?);
    }
    let text: Vec<String> = commits.iter().map(|c| render(c, args.format)).collect();
    let sep = if args.format == CommitFormat::Oneline {
        "\n"
    } else {
        "\n\n"
    };
    out(&text.join(sep))
}

/// One commit as git prints it in `format`.
fn render(c: &Commit, format: CommitFormat) -> String {
    let mut s = String::new();
    let (subject, body) = c.message.split_once('\n').unwrap_or((&c.message, ""));
    if format == CommitFormat::Oneline {
        return format!("{}\t{subject}", c.id.as_str());
    }
    let _ = writeln!(s, "commit {}", c.id.as_str());
    if c.parents.len() > 1 {
        let parents: Vec<&str> = c.parents.iter().map(|p| p.short()).collect();
        let _ = writeln!(s, "Merge: {}", parents.join(" "));
    }
    let _ = writeln!(s, "Author: {}", c.author);
    if matches!(
        format,
        CommitFormat::Medium | CommitFormat::Full | CommitFormat::Fuller
    ) {
        let _ = writeln!(s, "Date:   {} UTC", time(c.time_ms));
    }
    if matches!(format, CommitFormat::Full | CommitFormat::Fuller) && !c.properties.is_empty() {
        let props: Vec<String> = c
            .properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(s, "Properties: {}", props.join(", "));
    }
    if format == CommitFormat::Fuller {
        let tables: Vec<String> = c.operations.iter().map(|o| o.key().to_string()).collect();
        let _ = writeln!(s, "Tables: {}", tables.join(", "));
    }
    let _ = write!(s, "\n    {subject}");
    if format != CommitFormat::Short && !body.trim().is_empty() {
        for line in body.lines() {
            let _ = write!(s, "\n    {line}");
        }
    }
    s
}
