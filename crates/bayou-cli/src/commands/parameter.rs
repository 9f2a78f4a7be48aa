//! `bayou parameter ls|set|rm`: the `parameters:` of a project file, edited in place.
//!
//! The file is read and written as YAML data, so its keys keep their order but comments in it
//! are not kept (the command says so when it drops some).

use std::path::{Path, PathBuf};

use bayou_project::{PROJECT_FILES, ParamType, ParamValue};
use serde_json::json;
use serde_yaml::{Mapping, Value};

use crate::cli::{OutputFormat, ParameterCommand};
use crate::output::{Exit, Listing, emit, emit_message};

/// Runs `cmd`; `lake` reaches the lake whose key encrypts secret values (here or on a server).
pub(crate) async fn run(
    format: OutputFormat,
    cmd: ParameterCommand,
    lake: impl AsyncFnOnce() -> anyhow::Result<std::sync::Arc<dyn bayou_service::Service>>,
) -> anyhow::Result<()> {
    match cmd {
        ParameterCommand::Ls { project_dir } => {
            let (_, doc) = read(&project_dir)?;
            let mut listing =
                Listing::new(vec!["name", "type", "required", "default", "description"]);
            let mut value = Vec::new();
            for (name, spec) in parameters(&doc) {
                let field = |k: &str| spec.get(k).and_then(text);
                let ty = field("type").unwrap_or_else(|| "str".into());
                let secret = ty == "secret";
                let default = match secret {
                    true => spec.get("default").map(|_| "***".to_string()),
                    false => field("default"),
                };
                let required = spec
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                listing.push(vec![
                    name.clone(),
                    ty.clone(),
                    required.to_string(),
                    default.clone().unwrap_or_else(|| "-".into()),
                    field("description").unwrap_or_default(),
                ]);
                value.push(json!({
                    "name": name, "type": ty, "required": required,
                    "default": default, "description": field("description"),
                }));
            }
            emit(format, &value, listing)
        }
        ParameterCommand::Set {
            name,
            value,
            ty,
            description,
            required,
            optional,
            project_dir,
        } => {
            bayou_types::validate_name("parameter", &name)?;
            let (path, mut doc) = read(&project_dir)?;
            let params = parameters_mut(&mut doc)?;
            let entry = params
                .entry(Value::String(name.clone()))
                .or_insert_with(|| Value::Mapping(Mapping::new()));
            let Value::Mapping(spec) = entry else {
                return Err(Exit::usage(format!(
                    "parameter '{name}' in {} is not a mapping",
                    path.display()
                ))
                .into());
            };
            let ty = match ty {
                Some(t) => t.to_ascii_lowercase(),
                None => spec
                    .get("type")
                    .and_then(text)
                    .unwrap_or_else(|| "str".into()),
            };
            let parsed = parse_type(&ty)?;
            spec.insert("type".into(), Value::String(ty.clone()));
            match (&value, parsed) {
                (Some(v), ParamType::Secret) => {
                    store_secret(spec, &name, v, lake).await?;
                }
                (Some(v), _) => {
                    spec.insert("default".into(), default_value(parsed, &name, v)?);
                    spec.remove("key");
                }
                // Made a secret: a plaintext default already there is encrypted now, never left
                // readable in the file under a secret's name.
                (None, ParamType::Secret) => {
                    let plain = spec
                        .get("default")
                        .and_then(text)
                        .filter(|d| !d.starts_with("bayou-secret:"));
                    if let Some(plain) = plain {
                        store_secret(spec, &name, &plain, lake).await?;
                    }
                }
                (None, _) => {}
            }
            if required || optional {
                spec.insert("required".into(), Value::Bool(required));
            }
            if let Some(d) = &description {
                spec.insert("description".into(), Value::String(d.clone()));
            }
            write(&path, &doc)?;
            emit_message(
                format,
                &json!({"set": name, "type": ty, "file": path.display().to_string()}),
                &format!("set parameter {name} ({ty}) in {}", path.display()),
            )
        }
        ParameterCommand::Rm { name, project_dir } => {
            let (path, mut doc) = read(&project_dir)?;
            if parameters_mut(&mut doc)?.remove(name.as_str()).is_none() {
                return Err(Exit::usage(format!(
                    "no parameter '{name}' in {}\n  hint: list them with `bayou parameter ls`",
                    path.display()
                ))
                .into());
            }
            write(&path, &doc)?;
            emit_message(
                format,
                &json!({"removed": name, "file": path.display().to_string()}),
                &format!("removed parameter {name} from {}", path.display()),
            )
        }
    }
}

/// Sets `plain` as the default of secret parameter `name`, encrypted with the key of the lake
/// `lake` reaches: the file can be shared, the value cannot.
async fn store_secret(
    spec: &mut Mapping,
    name: &str,
    plain: &str,
    lake: impl AsyncFnOnce() -> anyhow::Result<std::sync::Arc<dyn bayou_service::Service>>,
) -> anyhow::Result<()> {
    let stored = lake().await?.encrypt_secret(name, plain).await?;
    spec.insert("default".into(), Value::String(stored));
    spec.insert(
        "key".into(),
        Value::String(bayou_project::SECRET_KEY_NAME.into()),
    );
    Ok(())
}

fn parse_type(ty: &str) -> anyhow::Result<ParamType> {
    ParamType::parse(ty).ok_or_else(|| {
        Exit::usage(format!(
            "unknown parameter type '{ty}'\n  hint: types are int, float, bool, str and secret"
        ))
        .into()
    })
}

/// `text` as the YAML default of a `ty` parameter, checked.
fn default_value(ty: ParamType, name: &str, text: &str) -> anyhow::Result<Value> {
    let bad = || {
        Exit::usage(format!(
            "'{text}' is not a valid {} for parameter '{name}'",
            ty.as_str()
        ))
    };
    Ok(match ParamValue::parse(ty, text).ok_or_else(bad)? {
        ParamValue::Int(i) => Value::from(i),
        ParamValue::Float(f) => Value::from(f),
        ParamValue::Bool(b) => Value::Bool(b),
        ParamValue::Str(s) => Value::String(s),
        ParamValue::Secret(_) => return Err(bad().into()),
    })
}

/// The project file in `dir` and its content.
fn read(dir: &Path) -> anyhow::Result<(PathBuf, Value)> {
    let Some(path) = PROJECT_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
    else {
        return Err(Exit::usage(format!(
            "no project file in {}\n  hint: pass the project with -p DIR, or create one with `bayou init`",
            dir.display()
        ))
        .into());
    };
    let text = std::fs::read_to_string(&path)?;
    let doc: Value = serde_yaml::from_str(&text)
        .map_err(|e| Exit::usage(format!("{}: invalid project file: {e}", path.display())))?;
    Ok((path, doc))
}

fn write(path: &Path, doc: &Value) -> anyhow::Result<()> {
    let before = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, serde_yaml::to_string(doc)?)?;
    if before.lines().any(|l| l.trim_start().starts_with('#')) {
        crate::output::note(&format!("the comments in {} were not kept", path.display()))?;
    }
    Ok(())
}

fn parameters(doc: &Value) -> Vec<(String, Mapping)> {
    doc.get("parameters")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((text(k)?, v.as_mapping().cloned().unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

fn parameters_mut(doc: &mut Value) -> anyhow::Result<&mut Mapping> {
    let Value::Mapping(root) = doc else {
        return Err(Exit::usage("the project file is not a mapping".to_string()).into());
    };
    let params = root
        .entry("parameters".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if params.is_null() {
        *params = Value::Mapping(Mapping::new());
    }
    params
        .as_mapping_mut()
        .ok_or_else(|| Exit::usage("`parameters:` is not a mapping".to_string()).into())
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
