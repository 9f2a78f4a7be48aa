//! [`PackageStore`]: installed packages, one read-only directory per (interpreter, package,
//! version), each built once by `uv pip install --no-deps --target` (its bytecode compiled
//! afterwards in the background: [`crate::bytecode`]) and never changed otherwise. An environment is assembled from a resolution (`uv pip compile`) by
//! hardlinking each named package's files into its site-packages: the unit is the package,
//! not the environment, so adding pandas to an environment whose other packages are stored
//! costs a resolution and some links, not an install and a bytecode compilation.
//!
//! Trade-off: hardlinks, not `.pth` entries pointing into the store. A link per file costs a
//! few milliseconds per thousand files, but the environment is a plain venv whose every file
//! lies under its own directory (what the sandbox mounts), with nothing on `sys.path` that a
//! uv-built venv would not have. Bytecode stays valid: a link keeps the source's mtime.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A package and version a resolution names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    pub(crate) name: String,
    pub(crate) version: String,
}

impl Pin {
    fn requirement(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }
}

/// Packages under `<cache>/packages/<interpreter>/<name>-<version>`.
#[derive(Debug, Clone)]
pub(crate) struct PackageStore {
    dir: PathBuf,
    uv: PathBuf,
}

/// Runs `uv ARGS`, offline first (every wheel cached: no index is asked), then online.
async fn uv_offline_first(
    uv: &Path,
    args: &[OsString],
    stdin: Option<&str>,
) -> Result<Output, String> {
    let mut last = None;
    for offline in [true, false] {
        let mut c = tokio::process::Command::new(uv);
        c.args(args).kill_on_drop(true);
        if offline {
            c.arg("--offline");
        }
        c.stdin(match stdin {
            Some(_) => std::process::Stdio::piped(),
            None => std::process::Stdio::null(),
        });
        c.stdout(std::process::Stdio::piped());
        c.stderr(std::process::Stdio::piped());
        let mut child = c
            .spawn()
            .map_err(|e| format!("cannot run uv at {} ({e})", uv.display()))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use tokio::io::AsyncWriteExt as _;
            pipe.write_all(text.as_bytes())
                .await
                .map_err(|e| format!("uv: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("uv: {e}"))?;
        if out.status.success() {
            return Ok(out);
        }
        last = Some(out);
    }
    Err(last
        .map(|o| crate::env::last_lines(&o.stderr))
        .unwrap_or_default())
}

/// The `name==version` lines of `uv pip compile` output.
pub(crate) fn parse_pins(text: &str) -> Vec<Pin> {
    text.lines()
        .map(|l| l.split(';').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once("=="))
        .map(|(name, version)| Pin {
            name: name.trim().to_ascii_lowercase(),
            version: version.trim().to_string(),
        })
        .collect()
}

impl PackageStore {
    pub(crate) fn new(cache: &Path, uv: PathBuf) -> Self {
        Self {
            dir: cache.join("packages"),
            uv,
        }
    }

    /// What `requirements` resolve to on the interpreter `python`.
    pub(crate) async fn resolve(
        &self,
        python: &Path,
        requirements: &[String],
    ) -> Result<Vec<Pin>, String> {
        let args: Vec<OsString> = ["pip", "compile", "--quiet", "--no-header", "--no-annotate"]
            .into_iter()
            .map(OsString::from)
            .chain([OsString::from("--python"), python.as_os_str().to_owned()])
            .chain([OsString::from("-")])
            .collect();
        let out = uv_offline_first(&self.uv, &args, Some(&requirements.join("\n"))).await?;
        Ok(parse_pins(&String::from_utf8_lossy(&out.stdout)))
    }

    /// The stored directory of `pin` for the venv interpreter `python` (named by
    /// `interpreter`), installing it first when the store lacks it (without its bytecode).
    pub(crate) async fn ensure(
        &self,
        python: &Path,
        interpreter: &str,
        pin: &Pin,
    ) -> Result<PathBuf, String> {
        let dir = self
            .dir
            .join(interpreter)
            .join(format!("{}-{}", pin.name, pin.version));
        if dir.join(".complete").exists() {
            return Ok(dir);
        }
        let parent = self.dir.join(interpreter);
        std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let tmp = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let args: Vec<OsString> = ["pip", "install", "--quiet", "--no-deps"]
            .into_iter()
            .map(OsString::from)
            .chain([OsString::from("--target"), tmp.clone().into_os_string()])
            .chain([OsString::from("--python"), python.as_os_str().to_owned()])
            .chain([OsString::from(pin.requirement())])
            .collect();
        let built = uv_offline_first(&self.uv, &args, None)
            .await
            .and_then(|_| std::fs::write(tmp.join(".complete"), "").map_err(|e| e.to_string()));
        if let Err(e) = built {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(format!("cannot install {}:\n    {e}", pin.requirement()));
        }
        // Another builder may have stored it meanwhile: theirs is as good.
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            if !dir.join(".complete").exists() {
                return Err(format!(
                    "cannot store {} at {}",
                    pin.requirement(),
                    dir.display()
                ));
            }
        }
        Ok(dir)
    }
}

impl PackageStore {
    /// Installs what `pins` names into the venv at `venv` (whose interpreter is `python`):
    /// each package from the store, storing the missing ones first (a few at a time), then
    /// linked in.
    pub(crate) async fn assemble(
        &self,
        python: &Path,
        base: &Path,
        interpreter: &str,
        pins: &[Pin],
        venv: &Path,
    ) -> Result<(), String> {
        use futures::{StreamExt as _, TryStreamExt as _};
        let stored: Vec<PathBuf> = futures::stream::iter(pins.to_vec())
            .map(|pin| {
                let (store, python, key) =
                    (self.clone(), python.to_path_buf(), interpreter.to_string());
                async move { store.ensure(&python, &key, &pin).await }
            })
            .buffered(4)
            .try_collect()
            .await?;
        let site = site_packages(venv)
            .ok_or_else(|| format!("the venv at {} has no site-packages", venv.display()))?;
        let bin = venv.join("bin");
        for package in &stored {
            link(package, &site, &bin).map_err(|e| {
                format!(
                    "cannot link {} into the environment: {e}",
                    package.display()
                )
            })?;
        }
        // Their bytecode, compiled by the base interpreter once the environment stands.
        for package in &stored {
            crate::bytecode::compile_later(base, package);
        }
        crate::bytecode::note_pending(venv, &stored)
            .map_err(|e| format!("cannot write in {}: {e}", venv.display()))
    }

    /// Removes the stored packages no environment links any more (the files of their
    /// `.dist-info` have one link left: the store's own) and the half-stored ones abandoned;
    /// a package stored within the hour may be on its way into an environment being built,
    /// and stays. Returns how many went.
    pub(crate) fn prune(&self) -> usize {
        use std::os::unix::fs::MetadataExt as _;
        let mut removed = 0;
        let interpreters = std::fs::read_dir(&self.dir).into_iter().flatten().flatten();
        for package in
            interpreters.flat_map(|i| std::fs::read_dir(i.path()).into_iter().flatten().flatten())
        {
            let path = package.path();
            let half_stored = package.file_name().to_string_lossy().starts_with(".tmp-");
            let unlinked = || {
                let metadata = std::fs::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .find(|e| e.file_name().to_string_lossy().ends_with(".dist-info"))
                    .map(|e| e.path().join("METADATA"));
                metadata.is_some_and(|m| std::fs::metadata(m).is_ok_and(|m| m.nlink() == 1))
            };
            let gone = match half_stored {
                true => crate::env::abandoned(&path),
                false => crate::env::abandoned(&path.join(".complete")) && unlinked(),
            };
            if gone && std::fs::remove_dir_all(&path).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// The venv's `lib/pythonX.Y/site-packages`.
pub(crate) fn site_packages(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib")).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|e| e.path().join("site-packages"))
            .find(|p| p.is_dir())
    })
}

/// The store's own files in a package's directory, never linked.
const MARKERS: [&str; 3] = [
    ".complete",
    crate::bytecode::COMPILED,
    crate::bytecode::COMPILING,
];

/// Links the files of the stored `package` into the venv: everything into `site`
/// (directories made, files hardlinked, a file there already kept), and its scripts (`bin/`)
/// into `bin`, copied with their `#!` line replaced by one that runs the venv's `python`.
pub(crate) fn link(package: &Path, site: &Path, bin: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(package)? {
        let entry = entry?;
        let name = entry.file_name();
        if MARKERS.iter().any(|m| name == *m) {
            continue;
        }
        if name == "bin" && entry.file_type()?.is_dir() {
            link_scripts(&entry.path(), bin)?;
            continue;
        }
        link_tree(&entry.path(), &site.join(&name))?;
    }
    Ok(())
}

/// Links into `site` the `__pycache__` directories of the stored `package` (compiled after
/// the rest of it was linked), walking its directories without touching its other files.
pub(crate) fn link_bytecode(package: &Path, site: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(package)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() || entry.file_name() == "bin" {
            continue;
        }
        let to = site.join(entry.file_name());
        match entry.file_name() == "__pycache__" {
            true => link_tree(&entry.path(), &to)?,
            false if to.is_dir() => link_bytecode(&entry.path(), &to)?,
            false => {}
        }
    }
    Ok(())
}

fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let kind = std::fs::symlink_metadata(from)?.file_type();
    if kind.is_dir() {
        match std::fs::create_dir(to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if kind.is_symlink() {
        let target = std::fs::read_link(from)?;
        return match std::os::unix::fs::symlink(target, to) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        };
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        // Two packages shipping one file (a namespace's `__init__.py`): the first stays.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // The store on another filesystem than the environment: copy.
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            std::fs::copy(from, to).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// The first lines of a script that runs with the `python` next to it, wherever the venv is
/// (built under a temporary name, then renamed): `sh` runs the `exec` line, and Python reads
/// the same lines as a comment and a string.
const RELOCATABLE: &[u8] =
    b"#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")\"/'python' \"$0\" \"$@\"\n' '''\n";

fn link_scripts(from: &Path, bin: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let to = bin.join(entry.file_name());
        if to.exists() {
            continue;
        }
        let body = std::fs::read(entry.path())?;
        let body = match body.strip_prefix(b"#!") {
            Some(rest)
                if rest
                    .split(|b| *b == b'\n')
                    .next()
                    .is_some_and(|l| String::from_utf8_lossy(l).contains("python")) =>
            {
                let rest = rest.splitn(2, |b| *b == b'\n').nth(1).unwrap_or(&[]);
                let mut script = RELOCATABLE.to_vec();
                script.extend_from_slice(rest);
                script
            }
            _ => body,
        };
        std::fs::write(&to, body)?;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_what_an_environment_links_and_what_was_just_stored() {
        let root = tempfile::tempdir().unwrap();
        let store = PackageStore::new(root.path(), "uv".into());
        let entry = |name: &str, old: bool| {
            let dir = root.path().join("packages/3.11-x").join(name);
            let info = dir.join(format!("{name}.dist-info"));
            std::fs::create_dir_all(&info).unwrap();
            std::fs::write(info.join("METADATA"), name).unwrap();
            let done = std::fs::File::create(dir.join(".complete")).unwrap();
            if old {
                let then = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
                done.set_modified(then).unwrap();
            }
            dir
        };
        let linked = entry("linked-1", true);
        let unused = entry("unused-1", true);
        let fresh = entry("fresh-1", false);
        let site = root.path().join("site");
        std::fs::create_dir_all(&site).unwrap();
        link(&linked, &site, &root.path().join("bin")).unwrap();
        assert_eq!(store.prune(), 1);
        assert!(linked.exists() && fresh.exists() && !unused.exists());
    }

    #[test]
    fn a_resolution_is_read_from_uvs_output() {
        let text = "# a comment\nnumpy==2.4.6\nPandas==2.2.3 ; python_version >= '3.9'\n\ntzdata==2026.6\n";
        let pins: Vec<String> = parse_pins(text).iter().map(Pin::requirement).collect();
        assert_eq!(pins, ["numpy==2.4.6", "pandas==2.2.3", "tzdata==2026.6"]);
    }

    #[test]
    fn linking_shares_files_keeps_the_first_of_two_and_points_scripts_at_the_venv() {
        use std::os::unix::fs::MetadataExt as _;
        let root = tempfile::tempdir().unwrap();
        let store = root.path().join("store");
        let (a, b) = (store.join("a-1"), store.join("b-1"));
        for (pkg, body) in [(&a, "a"), (&b, "b")] {
            std::fs::create_dir_all(pkg.join("ns")).unwrap();
            std::fs::write(pkg.join("ns").join("__init__.py"), body).unwrap();
            std::fs::create_dir_all(pkg.join("bin")).unwrap();
        }
        std::fs::write(
            a.join("bin").join("tool"),
            "#!/usr/bin/python3.11\nprint(1)\n",
        )
        .unwrap();
        let site = root.path().join("venv/lib/python3.11/site-packages");
        let bin = root.path().join("venv/bin");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        link(&a, &site, &bin).unwrap();
        link(&b, &site, &bin).unwrap();
        let linked = site.join("ns").join("__init__.py");
        assert_eq!(std::fs::read_to_string(&linked).unwrap(), "a");
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&linked), ino(&a.join("ns").join("__init__.py")));
        let script = std::fs::read_to_string(bin.join("tool")).unwrap();
        let relocatable = String::from_utf8(RELOCATABLE.to_vec()).unwrap();
        assert_eq!(script, format!("{relocatable}print(1)\n"));
        assert!(!site.join(".complete").exists() && !site.join("bin").exists());
    }
}
