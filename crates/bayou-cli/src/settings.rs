//! Settings read from the environment, resolved here (the one place that reads them) and handed
//! to the libraries as values.

use std::ffi::OsStr;
use std::path::PathBuf;

use bayou_runtime::{RunOptions, SandboxPolicy};

use crate::output::Exit;
use crate::profile::Profile;

/// How to open lakes: the commits' author (`BAYOU_AUTHOR`, else the OS user) and where an
/// `s3://` lake's catalog is (`BAYOU_CATALOG`, else `~/.bayou/catalogs/`).
pub(crate) fn lake_settings() -> bayou_lake::LakeSettings {
    bayou_lake::LakeSettings {
        author: std::env::var("BAYOU_AUTHOR")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "bayou".to_string()),
        catalog: std::env::var("BAYOU_CATALOG").ok(),
        catalogs_dir: home().join(".bayou").join("catalogs"),
    }
}

/// Run options for a run into `branch`, with the machine's tools and the user's settings.
pub(crate) fn run_options(branch: String) -> RunOptions {
    let mut options = RunOptions::new(branch, cache_dir());
    options.uv = uv();
    options.sandbox = sandbox();
    // `BAYOU_WARM_STARTS=off`: every function in a new interpreter, never from a zygote.
    options.warm_starts = std::env::var_os("BAYOU_WARM_STARTS").is_none_or(|v| v != "off");
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

/// The user's home directory (`.` without `HOME`).
pub(crate) fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// The lake when neither `--lake`, `BAYOU_LAKE` nor the profile names one: `~/.bayou/lake`.
pub(crate) fn default_lake() -> String {
    home().join(".bayou").join("lake").display().to_string()
}

/// Where bayou keeps environments, cached outputs and scans: `BAYOU_CACHE_DIR`, else
/// `~/.cache/bayou`.
pub(crate) fn cache_dir() -> PathBuf {
    std::env::var_os("BAYOU_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache").join("bayou"))
}

/// A size setting from environment variable `var` (`10GB`, `512MiB`, bytes), else `default`:
/// `BAYOU_SCAN_CACHE_SIZE`, `BAYOU_NODE_CACHE_SIZE`.
pub(crate) fn size_setting(var: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(text) => bayou_project::parse_memory(&text).ok_or_else(|| {
            Exit::usage(format!("{var}={text}: expected a size like 10GB or 512MiB")).into()
        }),
    }
}

/// Whether code branch = data branch is on: `BAYOU_GIT_BRANCH`, else the profile's
/// `git_branch`, else on.
pub(crate) fn git_branch_enabled(profile: &Profile) -> bool {
    match std::env::var("BAYOU_GIT_BRANCH") {
        Ok(v) => !v.eq_ignore_ascii_case("off"),
        Err(_) => profile.git_branch.as_deref() != Some("off"),
    }
}
