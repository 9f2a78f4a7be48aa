//! `bayou config get|set`: the settings of a profile (see [`crate::profile`]).

use serde_json::json;

use crate::cli::{ConfigCommand, OutputFormat};
use crate::output::{Exit, Listing, emit, emit_message};
use crate::profile::{self, KEYS};

/// Runs `cmd` on profile `name`; `lake` is where the profile's lake is, for `active_branch`.
pub(crate) async fn run(
    format: OutputFormat,
    name: &str,
    cmd: ConfigCommand,
    lake: impl AsyncFnOnce() -> anyhow::Result<bayou_lake::Lake>,
) -> anyhow::Result<()> {
    let mut current = profile::load(name)?;
    match cmd {
        ConfigCommand::Get { key: None, .. } => {
            let active = match lake().await {
                Ok(l) => l.catalog().active_branch().await.ok(),
                Err(_) => None,
            };
            let values = [
                ("lake", current.lake.clone()),
                ("active_branch", active),
                ("git_branch", current.git_branch.clone()),
                ("remote", current.remote.clone()),
                ("ca_cert", current.ca_cert.clone()),
                // Never print a secret back: say whether one is set.
                (
                    "api_key",
                    current.api_key.as_ref().map(|_| "(set)".to_string()),
                ),
            ];
            let mut listing = Listing::new(vec!["key", "value"]);
            let mut value = serde_json::Map::new();
            for (k, v) in values {
                listing.push(vec![k.to_string(), v.clone().unwrap_or_else(|| "-".into())]);
                value.insert(k.to_string(), json!(v));
            }
            value.insert("profile".into(), json!(name));
            emit(format, &value, listing)
        }
        ConfigCommand::Get { key: Some(key), .. } => {
            let value = match check_key(&key)? {
                "lake" => current.lake.clone(),
                "git_branch" => current.git_branch.clone(),
                "remote" => current.remote.clone(),
                "ca_cert" => current.ca_cert.clone(),
                "api_key" => current.api_key.as_ref().map(|_| "(set)".to_string()),
                _ => Some(lake().await?.catalog().active_branch().await?),
            };
            let text = value.clone().unwrap_or_else(|| "(not set)".into());
            emit_message(format, &json!({ key: value }), &text)
        }
        ConfigCommand::Set { key, value } => {
            match check_key(&key)? {
                "lake" => current.lake = Some(value.clone()),
                "remote" => current.remote = Some(value.clone()),
                "ca_cert" => current.ca_cert = Some(value.clone()),
                "api_key" => current.api_key = Some(value.clone()),
                "git_branch" => {
                    if !matches!(value.as_str(), "on" | "off") {
                        return Err(
                            Exit::usage(format!("git_branch is on or off, not '{value}'")).into(),
                        );
                    }
                    current.git_branch = Some(value.clone());
                }
                _ => {
                    lake().await?.catalog().set_active_branch(&value).await?;
                    return emit_message(
                        format,
                        &json!({"profile": name, "active_branch": value}),
                        &format!("active_branch = {value} (profile {name})"),
                    );
                }
            }
            profile::save(name, current)?;
            let value = match key.as_str() {
                "api_key" => "(set)".to_string(),
                _ => value,
            };
            emit_message(
                format,
                &json!({"profile": name, key.as_str(): value}),
                &format!(
                    "{key} = {value} (profile {name}, {})",
                    profile::path().display()
                ),
            )
        }
    }
}

/// `key` if it is a setting, else a usage error listing them.
fn check_key(key: &str) -> anyhow::Result<&str> {
    match KEYS.iter().find(|(k, _)| *k == key) {
        Some((k, _)) => Ok(k),
        None => {
            let known: Vec<String> = KEYS
                .iter()
                .map(|(k, what)| format!("{k}: {what}"))
                .collect();
            Err(Exit::usage(format!(
                "unknown setting '{key}'\n  hint: settings are\n    {}",
                known.join("\n    ")
            ))
            .into())
        }
    }
}
