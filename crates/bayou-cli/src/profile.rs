//! Profiles: named settings in `~/.bayou/config.toml`, picked with `-P NAME` or
//! `BAYOU_PROFILE` (`default` otherwise), as bauplan keeps its profiles.
//!
//! ```toml
//! [profiles.default]
//! lake = "/home/me/.bayou/lake"
//!
//! [profiles.team]
//! lake = "s3://lake/prod"
//! git_branch = "off"
//! ```
//! A setting given on the command line or in the environment wins over the profile's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::output::Exit;

/// The settings a profile may hold, with what each means.
pub(crate) const KEYS: [(&str, &str); 6] = [
    (
        "lake",
        "the lake: a directory or s3://bucket/prefix (--lake and BAYOU_LAKE win)",
    ),
    (
        "active_branch",
        "the active branch of the profile's lake (kept in its catalog; same as `bayou checkout`)",
    ),
    (
        "git_branch",
        "on|off: run on the data branch named after the project's git branch",
    ),
    (
        "remote",
        "a bayou server, http://HOST:PORT: commands go there instead of a local lake (--remote and BAYOU_REMOTE win)",
    ),
    (
        "api_key",
        "the API key for the remote server (--api-key and BAYOU_API_KEY win)",
    ),
    (
        "ca_cert",
        "a PEM file of the CA that signed an https:// server's certificate, besides the system's (--ca-cert and BAYOU_CA_CERT win)",
    ),
];

/// One profile's settings (`active_branch` lives in the lake's catalog, not here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lake: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) git_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) remote: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ca_cert: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// The config file: `~/.bayou/config.toml`.
pub(crate) fn path() -> PathBuf {
    crate::settings::home().join(".bayou").join("config.toml")
}

fn read() -> anyhow::Result<File> {
    let path = path();
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            Exit::usage(format!(
                "{} is not a valid config file: {e}\n  hint: fix it, or remove it and set values again with `bayou config set`",
                path.display()
            ))
            .into()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// The profile called `name` (empty when the file or the profile does not exist).
pub(crate) fn load(name: &str) -> anyhow::Result<Profile> {
    Ok(read()?.profiles.remove(name).unwrap_or_default())
}

/// Saves `profile` as `name`, keeping the others.
pub(crate) fn save(name: &str, profile: Profile) -> anyhow::Result<()> {
    let mut file = read()?;
    file.profiles.insert(name.to_string(), profile);
    let path = path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The file may hold an API key: only its owner reads it, from the moment it exists.
    {
        use std::io::Write as _;
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(toml::to_string_pretty(&file)?.as_bytes())?;
    }
    Ok(())
}
