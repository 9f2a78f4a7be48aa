//! [`Limits`]: memory, CPU and process caps per function through cgroups (v2, or v1 as on many
//! container hosts), and telling an out-of-memory kill apart from other deaths.
//!
//! The function's process tree joins its cgroup before it starts (a tiny `sh` wrapper writes its
//! own pid to `cgroup.procs`, then `exec`s the sandbox), so nothing it allocates escapes the
//! limit. Where no cgroup can be created the run says so and goes on without limits.

use std::path::{Path, PathBuf};

use bayou_project::Resources;

/// Which cgroup layout this machine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    V2,
    V1,
}

/// One function's cgroup(s); removed on drop.
#[derive(Debug)]
pub(crate) struct Limits {
    layout: Layout,
    /// The directories the process joins (one on v2; memory, cpu and pids on v1).
    dirs: Vec<PathBuf>,
    pub(crate) memory_bytes: Option<u64>,
}

const ROOT: &str = "/sys/fs/cgroup";

fn layout() -> Option<Layout> {
    if Path::new(ROOT).join("cgroup.controllers").exists() {
        Some(Layout::V2)
    } else if Path::new(ROOT).join("memory").is_dir() {
        Some(Layout::V1)
    } else {
        None
    }
}

fn write(dir: &Path, file: &str, value: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(file), value)
}

impl Limits {
    /// Creates cgroups for `name` with the given limits. `Ok(None)` when there is nothing to
    /// limit; `Err` says why limits cannot be enforced here.
    pub(crate) fn create(name: &str, resources: &Resources) -> Result<Option<Self>, String> {
        if resources.memory_bytes.is_none() && resources.cpus.is_none() {
            return Ok(None);
        }
        let layout = layout().ok_or("no cgroup filesystem at /sys/fs/cgroup")?;
        let fail = |what: &str, e: std::io::Error| format!("cannot set up the {what} cgroup: {e}");
        let mut limits = Self {
            layout,
            dirs: vec![],
            memory_bytes: resources.memory_bytes,
        };
        let pids = "4096";
        match layout {
            Layout::V2 => {
                let dir = Path::new(ROOT).join(format!("bayou-{name}"));
                std::fs::create_dir_all(&dir).map_err(|e| fail("v2", e))?;
                limits.dirs.push(dir.clone());
                if let Some(m) = resources.memory_bytes {
                    write(&dir, "memory.max", &m.to_string()).map_err(|e| fail("memory", e))?;
                    let _ = write(&dir, "memory.swap.max", "0");
                }
                if let Some(c) = resources.cpus {
                    write(
                        &dir,
                        "cpu.max",
                        &format!("{} 100000", (c * 100_000.0) as u64),
                    )
                    .map_err(|e| fail("cpu", e))?;
                }
                let _ = write(&dir, "pids.max", pids);
            }
            Layout::V1 => {
                if let Some(m) = resources.memory_bytes {
                    let dir = Path::new(ROOT).join("memory").join(format!("bayou-{name}"));
                    std::fs::create_dir_all(&dir).map_err(|e| fail("memory", e))?;
                    limits.dirs.push(dir.clone());
                    write(&dir, "memory.limit_in_bytes", &m.to_string())
                        .map_err(|e| fail("memory", e))?;
                    let _ = write(&dir, "memory.memsw.limit_in_bytes", &m.to_string());
                }
                if let Some(c) = resources.cpus {
                    let dir = Path::new(ROOT).join("cpu").join(format!("bayou-{name}"));
                    std::fs::create_dir_all(&dir).map_err(|e| fail("cpu", e))?;
                    limits.dirs.push(dir.clone());
                    write(&dir, "cpu.cfs_period_us", "100000").map_err(|e| fail("cpu", e))?;
                    write(
                        &dir,
                        "cpu.cfs_quota_us",
                        &((c * 100_000.0) as u64).to_string(),
                    )
                    .map_err(|e| fail("cpu", e))?;
                }
                let dir = Path::new(ROOT).join("pids").join(format!("bayou-{name}"));
                if std::fs::create_dir_all(&dir).is_ok() && write(&dir, "pids.max", pids).is_ok() {
                    limits.dirs.push(dir);
                }
            }
        }
        Ok(Some(limits))
    }

    /// The `cgroup.procs` files a process writes its pid to, to join these cgroups.
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// A shell snippet that moves the current shell into the cgroups before `exec "$@"`.
    pub(crate) fn join_script(&self) -> String {
        let mut script = String::new();
        for d in &self.dirs {
            script.push_str(&format!("echo $$ > '{}/cgroup.procs' && ", d.display()));
        }
        script.push_str("exec \"$@\"");
        script
    }

    /// Whether the kernel killed the function for using more memory than its limit.
    /// `killed` says the process died of SIGKILL, which with a hit limit means the same thing on
    /// kernels that do not count OOM kills.
    pub(crate) fn out_of_memory(&self, killed: bool) -> bool {
        let counted = |file: &str| {
            self.dirs.iter().any(|d| {
                std::fs::read_to_string(d.join(file)).is_ok_and(|t| {
                    t.lines()
                        .any(|l| l.starts_with("oom_kill ") && !l.ends_with(" 0"))
                })
            })
        };
        let hit_limit = || {
            self.dirs.iter().any(|d| {
                std::fs::read_to_string(d.join("memory.failcnt")).is_ok_and(|t| t.trim() != "0")
            })
        };
        match self.layout {
            Layout::V2 => counted("memory.events"),
            Layout::V1 => counted("memory.oom_control") || (killed && hit_limit()),
        }
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        // A killed sandbox takes a moment to leave its cgroup; a cgroup with members cannot be
        // removed. Retry briefly rather than leak it.
        for _ in 0..200 {
            self.dirs
                .retain(|d| std::fs::remove_dir(d).is_err() && d.exists());
            if self.dirs.is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
