//! [`Sandbox`]: runs each function under bubblewrap with only what it needs.
//!
//! Inside: the OS's read-only system directories, the function's environment and its base
//! interpreter, the runner, the project's code, its inputs (read-only) and its own output
//! directory (the one writable place besides a private `/tmp`). Not inside: the lake's files and
//! credentials, the catalog database, other runs, the user's home. The network is unshared unless
//! the model asks for `internet_access=True`, and the environment variables are cleared.

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// How functions are isolated on this machine.
#[derive(Debug, Clone)]
pub(crate) struct Sandbox {
    bwrap: Option<PathBuf>,
}

/// What one invocation may see.
pub(crate) struct Mounts<'a> {
    pub(crate) env_dir: &'a Path,
    pub(crate) runner_dir: &'a Path,
    pub(crate) project_dir: &'a Path,
    /// The input files, mapped read-only.
    pub(crate) inputs: &'a [PathBuf],
    pub(crate) output_dir: &'a Path,
    pub(crate) internet: bool,
}

/// How Python functions are isolated, as the user configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxPolicy {
    /// Under bubblewrap, at this path; `None` when it is not installed, and then Python models
    /// are refused rather than run in the open.
    Bubblewrap(Option<PathBuf>),
    /// Without a sandbox, because the user said so (`BAYOU_SANDBOX=off`).
    Off,
}

impl Sandbox {
    /// The sandbox `policy` asks for; an error when it needs bubblewrap and there is none.
    pub(crate) fn new(policy: &SandboxPolicy) -> crate::Result<Self> {
        match policy {
            SandboxPolicy::Off => Ok(Self { bwrap: None }),
            SandboxPolicy::Bubblewrap(Some(path)) if !path.is_file() => Err(crate::Error::Tool {
                tool: "bubblewrap",
                detail: format!(
                    "{} (from BAYOU_BWRAP) does not exist\n  hint: point BAYOU_BWRAP at bwrap, or unset it to use the one on PATH",
                    path.display()
                ),
            }),
            SandboxPolicy::Bubblewrap(Some(path)) => Ok(Self {
                bwrap: Some(path.clone()),
            }),
            SandboxPolicy::Bubblewrap(None) => Err(crate::Error::Tool {
                tool: "bubblewrap",
                detail: "Python models run sandboxed by bubblewrap (bwrap), which is not installed\n  hint: install it (`sudo apt-get install bubblewrap`), or run them without a sandbox at your own risk with BAYOU_SANDBOX=off".into(),
            }),
        }
    }

    /// A command that runs `python ARGS` inside the sandbox (or directly, without bubblewrap),
    /// first joining `limits`' cgroups when there are any.
    pub(crate) fn command(
        &self,
        python: &Path,
        mounts: &Mounts<'_>,
        sdk: &Path,
        limits: Option<&crate::limits::Limits>,
    ) -> Command {
        let inner = self.inner(python, mounts);
        let mut cmd = match limits {
            None => {
                let mut c = Command::new(inner.get_program());
                c.args(inner.get_args());
                c
            }
            Some(l) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(l.join_script())
                    .arg("sh")
                    .arg(inner.get_program())
                    .args(inner.get_args());
                c
            }
        };
        cmd.env_clear()
            .envs(ENV)
            .env("PYTHONPATH", sdk)
            .current_dir(mounts.output_dir);
        cmd
    }

    /// What a warm start's sandbox must hold (`None`: functions run unsandboxed).
    pub(crate) fn spec(&self, mounts: &Mounts<'_>) -> Option<crate::protocol::SandboxSpec> {
        self.bwrap.as_ref()?;
        let (read_only, fixed) = read_only_with_fixed(mounts);
        Some(crate::protocol::SandboxSpec {
            read_only,
            fixed,
            writable: vec![mounts.output_dir.to_path_buf()],
            internet: mounts.internet,
        })
    }

    fn inner(&self, python: &Path, mounts: &Mounts<'_>) -> std::process::Command {
        match &self.bwrap {
            None => std::process::Command::new(python),
            Some(bwrap) => {
                let mut c = std::process::Command::new(bwrap);
                c.args(["--die-with-parent", "--new-session", "--unshare-all"]);
                if mounts.internet {
                    c.arg("--share-net");
                }
                c.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
                for p in read_only(mounts) {
                    c.arg("--ro-bind-try").arg(&p).arg(&p);
                }
                c.arg("--bind")
                    .arg(mounts.output_dir)
                    .arg(mounts.output_dir);
                c.arg("--chdir").arg(mounts.output_dir);
                c.arg(python);
                c
            }
        }
    }
}

/// A function's whole environment, besides `PYTHONPATH` (the SDK).
pub(crate) const ENV: [(&str, &str); 5] = [
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("HOME", "/tmp"),
    ("LANG", "C.UTF-8"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("PYTHONUNBUFFERED", "1"),
];

/// The host's system directories every function sees (those that exist).
const SYSTEM: &[&str] = &[
    "/usr",
    "/bin",
    "/lib",
    "/lib64",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/alternatives",
];

/// What a function with internet access also needs to resolve names and check certificates.
const NETWORK: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/ssl",
    "/etc/ca-certificates",
];

/// Everything a function sees read-only, in the order it is mounted.
fn read_only(mounts: &Mounts<'_>) -> Vec<PathBuf> {
    read_only_with_fixed(mounts).0
}

/// [`read_only`], and how many of it, from the first, are the same for every call in the
/// environment: the system's directories, the environment's, the runner's and the
/// interpreter's installation; then the call's project and inputs.
fn read_only_with_fixed(mounts: &Mounts<'_>) -> (Vec<PathBuf>, usize) {
    let network = if mounts.internet { NETWORK } else { &[] };
    let mut ro: Vec<PathBuf> = network.iter().chain(SYSTEM).map(PathBuf::from).collect();
    ro.extend([
        mounts.env_dir.to_path_buf(),
        mounts.runner_dir.to_path_buf(),
    ]);
    ro.extend(base_prefix(mounts.env_dir));
    let fixed = ro.len();
    ro.push(mounts.project_dir.to_path_buf());
    ro.extend(mounts.inputs.iter().cloned());
    (ro, fixed)
}

/// The installation a virtualenv's interpreter comes from: where its `bin/python` finally
/// points (through any symlinks), one up from its `bin`. Read from the link rather than from
/// `pyvenv.cfg`, which may name a directory of symlinks whose parent holds anything at all.
fn base_prefix(env_dir: &Path) -> Option<PathBuf> {
    let interpreter = env_dir.join("bin").join("python").canonicalize().ok()?;
    let prefix = interpreter.parent()?.parent()?.to_path_buf();
    // The system interpreter under /usr is already visible.
    (!prefix.starts_with("/usr")).then_some(prefix)
}
