//! A run's parameter values: declared defaults, `--param` overrides, secrets decrypted with the
//! lake's key.

use std::collections::BTreeMap;

use bayou_lake::Lake;
use bayou_project::{ParamType, ParamValue, Project, Secret, SecretKey};

use crate::{Error, Result};

/// The parameter values of a run: declared defaults overridden by `--param`.
///
/// Secret parameters are decrypted with `secret_key` (the lake's, see [`lake_secret_key`]),
/// which must be given when the project declares any.
pub fn resolve_params(
    project: &Project,
    overrides: &[(String, String)],
    secret_key: Option<&SecretKey>,
) -> Result<BTreeMap<String, ParamValue>> {
    let key =
        || secret_key.ok_or_else(|| Error::Internal("no secret key for secret parameters".into()));
    let mut values = BTreeMap::new();
    for (name, spec) in &project.config.parameters {
        // A value given on the command line wins: its default is never needed (nor decrypted).
        if overrides.iter().any(|(n, _)| n == name) {
            continue;
        }
        let value = match (&spec.default, spec.ty) {
            (Some(ParamValue::Str(stored)), ParamType::Secret) => ParamValue::Secret(
                key()?
                    .decrypt(name, stored)
                    .map_err(|e| Error::Usage(format!("{}: {e}", project.config_file.display())))?,
            ),
            (Some(d), _) => d.clone(),
            (None, _) => continue,
        };
        values.insert(name.clone(), value);
    }
    for (name, text) in overrides {
        let spec = project.config.parameters.get(name).ok_or_else(|| {
            let known: Vec<&str> = project
                .config
                .parameters
                .keys()
                .map(String::as_str)
                .collect();
            Error::Usage(format!(
                "unknown parameter '{name}' in --param\n  hint: the project declares: {}",
                if known.is_empty() {
                    "no parameters".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let value = match spec.ty {
            ParamType::Secret => ParamValue::Secret(Secret::new(key()?, text.clone())),
            ty => ParamValue::parse(ty, text).ok_or_else(|| {
                Error::Usage(format!(
                    "--param {name}={text}: not a valid {}",
                    ty.as_str()
                ))
            })?,
        };
        values.insert(name.clone(), value);
    }
    for (name, spec) in &project.config.parameters {
        if spec.required && !values.contains_key(name) {
            return Err(Error::Usage(format!(
                "parameter '{name}' is required\n  hint: pass --param {name}=VALUE"
            )));
        }
    }
    // Parameters used but never given a value are reported by the planner as unknown.
    Ok(values)
}

/// The lake's key for secret parameters, made on first use.
pub async fn lake_secret_key(lake: &Lake) -> Result<SecretKey> {
    let fresh = SecretKey::generate_hex().map_err(Error::Internal)?;
    let hex = lake.catalog().secret_key(|| fresh).await?;
    SecretKey::from_hex(&hex).map_err(Error::Internal)
}
