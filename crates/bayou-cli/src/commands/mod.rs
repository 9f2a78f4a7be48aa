//! One module per command; [`run`] opens the lake and dispatches.

mod branch;
mod demo;
mod info;
mod log;
mod namespace;
mod query;
mod run;
mod table;
mod tag;

use std::path::PathBuf;

use anyhow::Context as _;
use bayou_lake::{Lake, LakeLocation};
use bayou_types::{DEFAULT_NAMESPACE, TableKey};

use crate::cli::{Cli, Command, OutputFormat};

/// What every command gets: the open lake and the output format.
pub(crate) struct Ctx {
    pub(crate) lake: Lake,
    pub(crate) format: OutputFormat,
}

impl Ctx {
    /// The given ref, or the active branch.
    pub(crate) fn reference(&self, given: Option<&str>) -> anyhow::Result<String> {
        match given {
            Some(r) => Ok(r.to_string()),
            None => Ok(self.lake.catalog().active_branch()?),
        }
    }

    pub(crate) fn key(&self, name: &str) -> anyhow::Result<TableKey> {
        Ok(TableKey::parse(name, DEFAULT_NAMESPACE)?)
    }
}

fn default_lake() -> String {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ".".into());
    home.join(".bayou").join("lake").display().to_string()
}

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Demo(crate::cli::DemoCommand::Write { rows, out }) = &cli.command {
        return demo::write_files(*rows, out, cli.output).await;
    }
    let location_text = cli.lake.clone().unwrap_or_else(default_lake);
    let location = LakeLocation::parse(&location_text)?;
    let lake = Lake::open(&location)
        .with_context(|| format!("cannot open the lake at {}", location.display()))?;
    let ctx = Ctx {
        lake,
        format: cli.output,
    };
    match cli.command {
        Command::Query(args) => query::run(&ctx, args).await,
        Command::Table(cmd) => table::run(&ctx, cmd).await,
        Command::Branch(cmd) => branch::run(&ctx, cmd).await,
        Command::Tag(cmd) => tag::run(&ctx, cmd),
        Command::Log(args) => log::run(&ctx, args),
        Command::Namespace(cmd) => namespace::run(&ctx, cmd),
        Command::Checkout(args) => branch::checkout(&ctx, &args.branch),
        Command::Info => info::run(&ctx),
        Command::Demo(crate::cli::DemoCommand::Load { rows, branch }) => {
            demo::load(&ctx, rows, branch.as_deref()).await
        }
        Command::Demo(crate::cli::DemoCommand::Write { .. }) => unreachable!("handled above"),
        Command::Run(args) => run::run(&ctx, args).await,
        Command::Rerun(args) => run::rerun(&ctx, args).await,
        Command::Runs(cmd) => run::runs(&ctx, cmd).await,
        Command::Env(cmd) => run::env(&ctx, cmd),
    }
}
