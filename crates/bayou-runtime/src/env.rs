//! [`EnvCache`]: Python environments built by uv, one per (Python version, sorted pins, runner
//! version), reused by every function and run that needs the same spec.
//!
//! Trade-off: an environment is a whole venv per spec rather than layered overlays, assembled
//! from the package store ([`crate::store`]): a resolution, then each package's installed and
//! compiled files hardlinked in, so a new spec costs milliseconds once its packages are stored,
//! and finding an existing one costs a file check.

use std::path::{Path, PathBuf};

use bayou_project::PythonSpec;
use sha2::{Digest, Sha256};

use crate::store::{PackageStore, Pin};
use crate::{Error, Result};

/// The pyarrow every environment gets unless the model pins its own (inputs and outputs are
/// Arrow): the range the runner is tested on, oldest to newest, so the resolver can pick one that
/// installs next to the user's pins.
pub const PYARROW_REQUIREMENT: &str = "pyarrow>=14,<27";
/// The same range without the pyarrow releases that refuse to import next to NumPy 1.x, which
/// their metadata does not say (so no resolver can know): used when the pins bring NumPy 1.
const PYARROW_WITH_NUMPY_1: &str = "pyarrow>=14,<26";

/// Environments under `<cache>/envs/<key>`.
#[derive(Debug, Clone)]
pub struct EnvCache {
    dir: PathBuf,
    uv: PathBuf,
}

impl EnvCache {
    /// The environments under `cache`, built with the `uv` on PATH until [`EnvCache::with_uv`].
    pub fn new(cache: &Path) -> Self {
        Self {
            dir: cache.join("envs"),
            uv: "uv".into(),
        }
    }

    /// Builds with this uv (see [`crate::locate_uv`]).
    pub fn with_uv(mut self, uv: PathBuf) -> Self {
        self.uv = uv;
        self
    }

    /// The packages environments are assembled from: `<cache>/packages`.
    fn store(&self) -> PackageStore {
        PackageStore::new(self.dir.parent().unwrap_or(&self.dir), self.uv.clone())
    }

    /// What an environment of `spec` installs: the pins, and the runtime's pyarrow unless
    /// they name their own.
    pub fn requirements(spec: &PythonSpec) -> Vec<String> {
        let mut out = spec.requirements();
        if !spec.pins("pyarrow") {
            out.insert(0, PYARROW_REQUIREMENT.to_string());
        }
        out
    }

    /// The key of an environment: a hash of the version, the requirements and the runner.
    pub fn key(spec: &PythonSpec) -> String {
        let mut h = Sha256::new();
        h.update(spec.version().as_bytes());
        for requirement in Self::requirements(spec) {
            h.update(format!("\n{}", requirement.to_ascii_lowercase()).as_bytes());
        }
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
        if usable(&dir) {
            let _ = std::fs::write(dir.join(".last_used"), now_ms().to_string());
            crate::bytecode::relink_ready(&dir);
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
        if usable(&dir) {
            return Ok(ready(false));
        }
        // Complete once, but its base interpreter is gone (removed, or upgraded away): rebuild.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
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
        let built = self.build_at(spec, node, &tmp).await;
        let built = built.and_then(|()| std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e)));
        if built.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        built
    }

    /// The installation of Python `version`, through any symlinks (the environment then points
    /// at it, which the sandbox mounts, not at a link that may go away). uv finds it once; the
    /// answer is kept under the cache while that interpreter exists.
    async fn interpreter(&self, version: &str) -> std::result::Result<PathBuf, String> {
        let known = self.dir.join(format!(".python-{version}"));
        if let Ok(text) = std::fs::read_to_string(&known) {
            let path = PathBuf::from(text.trim());
            if path.is_file() {
                return Ok(path);
            }
        }
        let found = tokio::process::Command::new(&self.uv)
            .args(["python", "find", "--system", "--no-project", version])
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| format!("cannot run uv at {} ({e})", self.uv.display()))?;
        if !found.status.success() {
            return Err(format!(
                "Python {version} is not available on this machine:\n    {}\n  hint: install it (`{} python install {version}`, or your system's python{version} package), or ask for a version this machine has in @bauplan.python(...) or defaults.python.version of the project file",
                last_lines(&found.stderr),
                self.uv.display()
            ));
        }
        let path = PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
        let path = path.canonicalize().unwrap_or(path);
        let _ = std::fs::write(&known, path.as_os_str().as_encoded_bytes());
        Ok(path)
    }

    /// What the environment of `spec` installs, resolved for the venv `python`. pyarrow 26
    /// refuses to import next to NumPy 1.x though its metadata allows it: with pins that bring
    /// NumPy 1 (pandas<2.2.2 does), the newest pyarrow that imports is taken.
    async fn resolve(
        &self,
        spec: &PythonSpec,
        python: &Path,
    ) -> std::result::Result<Vec<Pin>, String> {
        let store = self.store();
        let resolve = |requirements: Vec<String>| {
            let store = &store;
            async move {
                store.resolve(python, &requirements).await.map_err(|e| {
                    format!(
                        "cannot install {} on Python {}:\n    {e}",
                        requirements.join(" "),
                        spec.version()
                    )
                })
            }
        };
        let requirements = Self::requirements(spec);
        let pins = resolve(requirements.clone()).await?;
        let major_of = |name: &str| {
            pins.iter()
                .find(|p| p.name == name)
                .map(|p| major(&p.version))
        };
        let numpy_1 = major_of("numpy").is_some_and(|v| v < 2);
        let refusing = major_of("pyarrow").is_some_and(|v| v >= 26);
        if !(numpy_1 && refusing) || spec.pins("pyarrow") {
            return Ok(pins);
        }
        let capped = requirements
            .into_iter()
            .map(|r| match r == PYARROW_REQUIREMENT {
                true => PYARROW_WITH_NUMPY_1.to_string(),
                false => r,
            })
            .collect();
        resolve(capped).await
    }

    async fn build_at(&self, spec: &PythonSpec, node: &str, tmp: &Path) -> Result<()> {
        let version = spec.version();
        let fail = |detail: String| Error::Env {
            node: node.to_string(),
            detail,
        };
        let interpreter = self.interpreter(version).await.map_err(fail)?;
        make_venv(tmp, &interpreter, version)
            .map_err(|e| fail(format!("cannot make a venv at {}: {e}", tmp.display())))?;
        let python = tmp.join("bin").join("python");
        let pins = self.resolve(spec, &python).await.map_err(fail)?;
        // Each package from the store (installed and compiled there the first time any
        // environment names it), then linked into this one.
        let interpreter_key = format!(
            "{version}-{}",
            &hex::encode(Sha256::digest(interpreter.as_os_str().as_encoded_bytes()))[..8]
        );
        self.store()
            .assemble(&python, &interpreter, &interpreter_key, &pins, tmp)
            .await
            .map_err(fail)?;
        let installed = installed_versions(tmp);
        let described = serde_json::json!({
            "python": version,
            "packages": spec.packages,
            "installed": installed,
            "runner": crate::assets::runner_version(),
        });
        let write = |name: &str, body: String| {
            std::fs::write(tmp.join(name), body).map_err(|e| Error::io(tmp, e))
        };
        write("spec.json", described.to_string())?;
        write(".last_used", now_ms().to_string())?;
        write(".complete", String::new())
    }
}

/// A venv at `dir` for the installation `interpreter` of Python `version` (`3.11`): its
/// `pyvenv.cfg`, `bin/python*` and an empty `site-packages`, which is all Python needs (what
/// `uv venv` makes, less its activation scripts and a tenth of a second).
fn make_venv(dir: &Path, interpreter: &Path, version: &str) -> std::io::Result<()> {
    let minor: Vec<&str> = version.split('.').take(2).collect();
    let minor = minor.join(".");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::create_dir_all(
        dir.join("lib")
            .join(format!("python{minor}"))
            .join("site-packages"),
    )?;
    std::os::unix::fs::symlink("lib", dir.join("lib64"))?;
    std::os::unix::fs::symlink(interpreter, bin.join("python"))?;
    std::os::unix::fs::symlink("python", bin.join("python3"))?;
    std::os::unix::fs::symlink("python", bin.join(format!("python{minor}")))?;
    let home = interpreter.parent().unwrap_or(Path::new("/"));
    std::fs::write(
        dir.join("pyvenv.cfg"),
        format!(
            "home = {}\nimplementation = CPython\ninclude-system-site-packages = false\nversion = {version}\n",
            home.display()
        ),
    )
}

/// The versions of the distributions installed in the venv at `dir`, by normalised name, read
/// from their `.dist-info` directory names.
fn installed_versions(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(libs) = std::fs::read_dir(dir.join("lib")) else {
        return out;
    };
    for lib in libs.flatten() {
        let Ok(entries) = std::fs::read_dir(lib.path().join("site-packages")) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some((dist, version)) = name
                .strip_suffix(".dist-info")
                .and_then(|n| n.split_once('-'))
            {
                out.insert(
                    dist.to_ascii_lowercase().replace('_', "-"),
                    version.to_string(),
                );
            }
        }
    }
    out
}

/// The major version of a version string (0 if it does not start with a number).
fn major(version: &str) -> u64 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// Whether the environment at `dir` was built completely and its interpreter still resolves
/// (a venv's `bin/python` links to the interpreter it was made from).
fn usable(dir: &Path) -> bool {
    dir.join(".complete").exists() && dir.join("bin").join("python").exists()
}

/// A ready environment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

/// Bytes a machine's caches under `cache` hold: environments (with the package store they link)
/// and node outputs. Walks every file: for a heartbeat now and then, not for every call.
pub fn cache_usage(cache: &Path) -> CacheUsage {
    use std::os::unix::fs::MetadataExt as _;
    CacheUsage {
        // Environments are mostly links into the package store: count those files once.
        env_bytes: dir_size_where(&cache.join("envs"), &|m| m.nlink() == 1)
            + dir_size(&cache.join("packages")),
        node_bytes: dir_size(&cache.join("nodes")),
    }
}

/// What [`cache_usage`] measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheUsage {
    pub env_bytes: u64,
    pub node_bytes: u64,
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn dir_size(path: &Path) -> u64 {
    dir_size_where(path, &|_| true)
}

/// Bytes of the files under `path` whose metadata `count` accepts.
fn dir_size_where(path: &Path, count: &dyn Fn(&std::fs::Metadata) -> bool) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size_where(&e.path(), count),
            Ok(t) if t.is_file() => e
                .metadata()
                .ok()
                .filter(|m| count(m))
                .map_or(0, |m| m.len()),
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
    /// ones abandoned for an hour (a younger one may be a build in progress), then the stored
    /// packages no environment links; returns the environments removed. uv's wheel cache
    /// stays, so a removed environment rebuilds offline.
    pub fn prune(&self, keep_days: Option<u64>) -> Result<Vec<EnvInfo>> {
        let cutoff = keep_days.map(|d| now_ms() - (d as i64) * 86_400_000);
        let mut removed = Vec::new();
        for env in self.list() {
            if cutoff.is_none_or(|c| env.last_used_ms < c) {
                let dir = self.dir.join(&env.key);
                // Its zygote goes with it.
                crate::zygote::Zygotes::stop_env(self.dir.parent().unwrap_or(&self.dir), &dir);
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
        // The packages only the removed environments linked.
        self.store().prune();
        Ok(removed)
    }
}

pub(crate) fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join("\n    ")
}

#[cfg(test)]
mod usage_tests {
    #[test]
    fn files_an_environment_links_from_the_store_count_once() {
        let cache = tempfile::tempdir().unwrap();
        let (store, env) = (cache.path().join("packages/a"), cache.path().join("envs/e"));
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(&env).unwrap();
        std::fs::write(store.join("lib.so"), vec![0u8; 1000]).unwrap();
        std::fs::hard_link(store.join("lib.so"), env.join("lib.so")).unwrap();
        std::fs::write(env.join("pyvenv.cfg"), vec![0u8; 10]).unwrap();
        assert_eq!(super::cache_usage(cache.path()).env_bytes, 1010);
    }
}
