//! [`EnvCache`]: Python environments built by uv, one per (Python version, sorted pins, runner
//! version), reused by every function and run that needs the same spec.
//!
//! Trade-off: an environment is a whole venv per spec (hardlinked from uv's cache, so cheap on
//! disk) rather than layered overlays; building one for a new spec costs one `uv pip install`
//! from the cache, and finding an existing one costs a file check.

use std::path::{Path, PathBuf};

use bayou_project::PythonSpec;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The pyarrow in every environment (inputs and outputs are Arrow).
pub const PYARROW_VERSION: &str = "26.0.1";
/// The Python version when neither the model nor the project names one.
pub const DEFAULT_PYTHON: &str = "3.11";

/// Environments under `<cache>/envs/<key>`.
#[derive(Debug, Clone)]
pub struct EnvCache {
    dir: PathBuf,
    uv: PathBuf,
}

impl EnvCache {
    pub fn new(cache: &Path) -> Self {
        let uv = std::env::var_os("BAYOU_UV")
            .map(PathBuf::from)
            .unwrap_or_else(|| "uv".into());
        Self {
            dir: cache.join("envs"),
            uv,
        }
    }

    /// The key of an environment: a hash of the version, the sorted pins and the runner.
    pub fn key(spec: &PythonSpec) -> String {
        let mut h = Sha256::new();
        h.update(spec.version.as_deref().unwrap_or(DEFAULT_PYTHON).as_bytes());
        for (name, version) in &spec.packages {
            h.update(format!("\n{}=={version}", name.to_ascii_lowercase()).as_bytes());
        }
        h.update(format!("pyarrow=={PYARROW_VERSION}").as_bytes());
        h.update(crate::assets::runner_version().as_bytes());
        hex::encode(h.finalize())[..20].to_string()
    }

    /// The environment of `spec`, building it if needed. Concurrent builders of one spec, in
    /// this process or others, wait on a file lock and build it once.
    pub async fn python(&self, spec: &PythonSpec, node: &str) -> Result<EnvReady> {
        let clock = std::time::Instant::now();
        let key = Self::key(spec);
        let dir = self.dir.join(&key);
        let ready = |built: bool| EnvReady {
            python: dir.join("bin").join("python"),
            key: key.clone(),
            built,
            seconds: clock.elapsed().as_secs_f64(),
        };
        if dir.join(".complete").exists() {
            let _ = std::fs::write(dir.join(".last_used"), now_ms().to_string());
            return Ok(ready(false));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let lock_path = self.dir.join(format!(".{key}.lock"));
        let lock = std::fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::io(&lock_path, e))?;
        // Whoever held the lock before may have built it.
        if dir.join(".complete").exists() {
            return Ok(ready(false));
        }
        let built = self.build(spec, node, &dir).await;
        drop(lock); // closing the file releases the lock
        built.map(|()| ready(true))
    }

    /// Builds the environment of `spec` at `dir`: a venv, then the pins installed from uv's
    /// cache (hardlinked, offline when every wheel is there) with their bytecode compiled, since
    /// functions see the environment read-only and would otherwise compile on every start.
    async fn build(&self, spec: &PythonSpec, node: &str, dir: &Path) -> Result<()> {
        let tmp = self.dir.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let version = spec.version.as_deref().unwrap_or(DEFAULT_PYTHON);
        let fail = |step: &str, detail: String| Error::Env {
            node: node.to_string(),
            detail: format!("{step}: {detail}"),
        };
        let uv = |args: &[&str]| {
            let mut c = tokio::process::Command::new(&self.uv);
            c.args(args).kill_on_drop(true);
            c
        };
        let out = uv(&["venv", "--quiet", "--python", version])
            .arg(&tmp)
            .output()
            .await
            .map_err(|e| Error::Env {
                node: node.to_string(),
                detail: format!(
                    "cannot run uv ({e}); install it with `pip install uv` or point BAYOU_UV at it"
                ),
            })?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(fail(
                &format!("no Python {version}"),
                last_lines(&out.stderr),
            ));
        }
        let mut pins: Vec<String> = vec![format!("pyarrow=={PYARROW_VERSION}")];
        pins.extend(spec.packages.iter().map(|(n, v)| format!("{n}=={v}")));
        let install = |offline: bool| {
            let mut c = uv(&[
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",
                "--python",
            ]);
            c.arg(tmp.join("bin").join("python"));
            if offline {
                c.arg("--offline");
            }
            c.args(&pins);
            c.output()
        };
        // Offline first: with every wheel cached, no index is asked; else fetch what is missing.
        let mut out = install(true)
            .await
            .map_err(|e| fail("uv pip install", e.to_string()))?;
        if !out.status.success() {
            out = install(false)
                .await
                .map_err(|e| fail("uv pip install", e.to_string()))?;
        }
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(fail(
                &format!("cannot install {}", pins.join(" ")),
                last_lines(&out.stderr),
            ));
        }
        let described = serde_json::json!({
            "python": version,
            "packages": spec.packages,
            "runner": crate::assets::runner_version(),
        });
        let write = |name: &str, body: String| {
            std::fs::write(tmp.join(name), body).map_err(|e| Error::io(&tmp, e))
        };
        write("spec.json", described.to_string())?;
        write(".last_used", now_ms().to_string())?;
        write(".complete", String::new())?;
        std::fs::rename(&tmp, dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            Error::io(dir, e)
        })
    }
}

/// A ready environment.
#[derive(Debug, Clone)]
pub struct EnvReady {
    pub key: String,
    /// Its interpreter.
    pub python: PathBuf,
    /// Whether this call built it (rather than finding it, or waiting for another builder).
    pub built: bool,
    pub seconds: f64,
}

/// One cached environment, for `bayou env ls`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvInfo {
    pub key: String,
    pub python: String,
    pub packages: std::collections::BTreeMap<String, String>,
    pub size_bytes: u64,
    pub last_used_ms: i64,
}

/// Whether a temporary file or directory was last touched over an hour ago: a younger one may
/// belong to work in progress in another process.
pub(crate) fn abandoned(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 3600)
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

impl EnvCache {
    /// Every complete environment, most recently used first.
    pub fn list(&self) -> Vec<EnvInfo> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        let mut out: Vec<EnvInfo> = entries
            .flatten()
            .filter(|e| e.path().join(".complete").exists())
            .map(|e| {
                let dir = e.path();
                let spec: serde_json::Value = std::fs::read(dir.join("spec.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or_default();
                EnvInfo {
                    key: e.file_name().to_string_lossy().to_string(),
                    python: spec["python"].as_str().unwrap_or("?").to_string(),
                    packages: serde_json::from_value(spec["packages"].clone()).unwrap_or_default(),
                    size_bytes: dir_size(&dir),
                    last_used_ms: std::fs::read_to_string(dir.join(".last_used"))
                        .ok()
                        .and_then(|t| t.trim().parse().ok())
                        .unwrap_or(0),
                }
            })
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.last_used_ms));
        out
    }

    /// Removes environments last used more than `keep_days` ago (all with `None`), and half-built
    /// ones abandoned for an hour (a younger one may be a build in progress); returns what was
    /// removed. uv's wheel cache stays, so a removed environment rebuilds offline.
    pub fn prune(&self, keep_days: Option<u64>) -> Result<Vec<EnvInfo>> {
        let cutoff = keep_days.map(|d| now_ms() - (d as i64) * 86_400_000);
        let mut removed = Vec::new();
        for env in self.list() {
            if cutoff.is_none_or(|c| env.last_used_ms < c) {
                let dir = self.dir.join(&env.key);
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                removed.push(env);
            }
        }
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(".tmp-") && abandoned(&e.path()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(removed)
    }
}

fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join("\n    ")
}
