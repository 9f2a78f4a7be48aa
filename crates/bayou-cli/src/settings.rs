//! Settings read from the environment, resolved here once and handed to the libraries as values.

use std::ffi::OsStr;
use std::path::PathBuf;

use bayou_runtime::{RunOptions, SandboxPolicy};

use crate::commands::cache_dir;

/// How to open lakes: the commits' author (`BAYOU_AUTHOR`, else the OS user) and where an
/// `s3://` lake's catalog is (`BAYOU_CATALOG`, else `~/.bayou/catalogs/`).
pub(crate) fn lake_settings() -> bayou_lake::LakeSettings {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    bayou_lake::LakeSettings {
        author: std::env::var("BAYOU_AUTHOR")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "bayou".to_string()),
        catalog: std::env::var_os("BAYOU_CATALOG").map(PathBuf::from),
        catalogs_dir: home.join(".bayou").join("catalogs"),
    }
}

/// Run options for a run into `branch`, with the machine's tools and the user's settings.
pub(crate) fn run_options(branch: String) -> RunOptions {
    let mut options = RunOptions::new(branch, cache_dir());
    options.uv = uv();
    options.sandbox = sandbox();
    options.exchange_dir = std::env::var_os("BAYOU_EXCHANGE_DIR").map(PathBuf::from);
    options
}

/// `BAYOU_UV`, else a `uv` on PATH; `None` lets bayou use (and fetch) its own.
fn uv() -> Option<PathBuf> {
    std::env::var_os("BAYOU_UV")
        .map(PathBuf::from)
        .or_else(|| on_path("uv"))
}

/// `BAYOU_SANDBOX=off` runs functions unsandboxed; else bubblewrap from `BAYOU_BWRAP` or PATH.
fn sandbox() -> SandboxPolicy {
    if std::env::var_os("BAYOU_SANDBOX").is_some_and(|v| v == "off") {
        return SandboxPolicy::Off;
    }
    // A BAYOU_BWRAP that names nothing is refused by the run, never replaced by another.
    let bwrap = match std::env::var_os("BAYOU_BWRAP") {
        Some(path) => Some(PathBuf::from(path)),
        None => on_path("bwrap"),
    };
    SandboxPolicy::Bubblewrap(bwrap)
}

/// The first executable file called `name` in PATH.
fn on_path(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name.as_ref()))
        .find(|p| p.is_file())
}
