//! Bytecode of stored packages, compiled after they are stored: an environment is linked from
//! a package's sources at once and gets its `.pyc` files when they are ready.
//!
//! Entry points: [`compile_later`] (a package just stored), [`note_pending`] (an environment
//! linked before its packages were compiled) and [`relink_ready`] (that environment used again).
//! Trade-off: until the compile ends (about two seconds for pandas on two cores, in a process
//! of its own that outlives the command), a function importing the package compiles what it
//! imports in memory (pandas: 1.3 s instead of 0.4 s); in exchange, adding a package whose
//! wheel is cached takes a tenth of a second instead of the compile's seconds.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

/// In a stored package: written once its bytecode is compiled.
pub(crate) const COMPILED: &str = ".compiled";
/// In a stored package: held locked (exclusively) by the process compiling it, from before it
/// starts until it ends.
pub(crate) const COMPILING: &str = ".compiling";
/// In an environment: the stored packages it links whose bytecode was not ready then.
const PENDING: &str = ".pending-bytecode";

/// Compiles every module of `dir`, then marks it [`COMPILED`]. Errors in single files are
/// skipped (as `uv pip install --compile-bytecode` does): Python compiles those on import.
/// One worker: an environment's packages compile side by side, a process each, so a pool per
/// package would put cores x packages processes on the machine.
const SCRIPT: &str = r#"
import compileall, pathlib, sys
d = pathlib.Path(sys.argv[1])
compileall.compile_dir(str(d), quiet=2, workers=1)
(d / ".compiled").touch()
"#;

pub(crate) fn compiled(package: &Path) -> bool {
    package.join(COMPILED).exists()
}

/// Starts compiling the stored `package` with the interpreter `python`, in a process that
/// outlives this one, unless it is compiled or being compiled.
pub(crate) fn compile_later(python: &Path, package: &Path) {
    if compiled(package) {
        return;
    }
    // Locked before the compiler starts, and handed to it as its stdin: the lock is held until
    // it ends, however it ends (a compile killed half-way is started again by the next caller).
    let Ok(lock) = std::fs::File::create(package.join(COMPILING)) else {
        return;
    };
    if lock.try_lock().is_err() {
        return; // being compiled
    }
    // `sh` starts it in the background (stdin kept: fd 3 carries it past the `&`), behind the
    // work in the foreground (`nice`), and exits.
    let _ = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("exec 3<&0; nice -n 10 \"$@\" <&3 3<&- >/dev/null 2>&1 &")
        .arg("sh")
        .arg(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(package)
        .env_clear()
        .current_dir("/")
        .stdin(lock)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .status();
}

/// Waits until no process is compiling `package` (for benchmarks and tests).
pub fn wait(package: &Path) -> std::io::Result<()> {
    if compiled(package) {
        return Ok(());
    }
    // The compiler holds the lock from before it starts: a shared lock is granted once it is
    // done (or gone).
    let lock = std::fs::File::open(package.join(COMPILING))?;
    lock.lock_shared()?;
    Ok(())
}

/// Records in the environment at `env` which of the stored `packages` it links were not yet
/// compiled.
pub(crate) fn note_pending(env: &Path, packages: &[PathBuf]) -> std::io::Result<()> {
    let pending: Vec<&PathBuf> = packages.iter().filter(|p| !compiled(p)).collect();
    write_pending(env, &pending)
}

/// Records `pending` in the environment at `env`; nothing when there is none.
fn write_pending(env: &Path, pending: &[&PathBuf]) -> std::io::Result<()> {
    if pending.is_empty() {
        return match std::fs::remove_file(env.join(PENDING)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let lines: Vec<_> = pending.iter().map(|p| p.to_string_lossy()).collect();
    std::fs::write(env.join(PENDING), lines.join("\n"))
}

/// The stored packages whose bytecode the environment at `env` still lacks.
pub fn pending(env: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(env.join(PENDING))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Links into the environment at `env` the bytecode of its pending packages compiled since it
/// was made; those still compiling stay pending. Best effort: without its bytecode, a module
/// is compiled where it is imported.
pub(crate) fn relink_ready(env: &Path) {
    let pending = pending(env);
    if pending.is_empty() {
        return;
    }
    let Some(site) = crate::store::site_packages(env) else {
        return;
    };
    let left: Vec<&PathBuf> = pending
        .iter()
        .filter(|p| !(compiled(p) && crate::store::link_bytecode(p, &site).is_ok()))
        .collect();
    // A compile that was killed half-way (a reboot, an OOM kill) is started again; one still
    // going holds its lock, and is left to finish.
    let python = env.join("bin").join("python");
    for package in left.iter().filter(|p| !compiled(p)) {
        compile_later(&python, package);
    }
    let _ = write_pending(env, &left);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python() -> PathBuf {
        std::env::var_os("BAYOU_TEST_PYTHON").map_or_else(|| "python3".into(), PathBuf::from)
    }

    #[test]
    fn a_stored_package_is_compiled_in_the_background_and_reaches_an_environment_linked_before() {
        let root = tempfile::tempdir().unwrap();
        let package = root.path().join("store/tiny-1");
        std::fs::create_dir_all(package.join("tiny")).unwrap();
        std::fs::write(package.join("tiny/__init__.py"), "X = 1\n").unwrap();
        std::fs::write(package.join(".complete"), "").unwrap();
        let env = root.path().join("env");
        let site = env.join("lib/python3.11/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(env.join("bin")).unwrap();

        crate::store::link(&package, &site, &env.join("bin")).unwrap();
        compile_later(&python(), &package);
        note_pending(&env, std::slice::from_ref(&package)).unwrap();
        assert_eq!(pending(&env), std::slice::from_ref(&package));
        wait(&package).unwrap();
        assert!(
            compiled(&package),
            "the compile marks the package when it is done"
        );

        relink_ready(&env);
        assert!(pending(&env).is_empty());
        let cache: Vec<_> = std::fs::read_dir(site.join("tiny/__pycache__"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            cache
                .iter()
                .any(|n| n.starts_with("__init__.") && n.ends_with(".pyc")),
            "{cache:?}"
        );
        for marker in [COMPILED, COMPILING, ".complete"] {
            assert!(
                !site.join(marker).exists(),
                "{marker} is the store's, not the env's"
            );
        }
    }

    #[test]
    fn a_compile_that_never_finished_is_started_again_when_the_environment_is_used() {
        let root = tempfile::tempdir().unwrap();
        let package = root.path().join("store/tiny-1");
        std::fs::create_dir_all(package.join("tiny")).unwrap();
        std::fs::write(package.join("tiny/__init__.py"), "X = 1\n").unwrap();
        let env = root.path().join("env");
        let site = env.join("lib/python3.11/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(env.join("bin")).unwrap();
        std::os::unix::fs::symlink(python_path(), env.join("bin/python")).unwrap();
        crate::store::link(&package, &site, &env.join("bin")).unwrap();
        // Linked while its compile was pending, and that compile died (no lock held, no mark).
        note_pending(&env, std::slice::from_ref(&package)).unwrap();
        std::fs::write(package.join(COMPILING), "").unwrap();

        relink_ready(&env);
        wait(&package).unwrap();
        assert!(compiled(&package), "the compile was started again");
        relink_ready(&env);
        assert!(pending(&env).is_empty());
    }

    /// The test interpreter as a path a symlink can point to.
    fn python_path() -> PathBuf {
        let p = python();
        if p.is_absolute() {
            return p;
        }
        let out = std::process::Command::new(&p)
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap();
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    #[test]
    fn an_environment_whose_packages_were_compiled_has_nothing_pending() {
        let root = tempfile::tempdir().unwrap();
        let package = root.path().join("done-1");
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(package.join(COMPILED), "").unwrap();
        note_pending(root.path(), &[package]).unwrap();
        assert!(pending(root.path()).is_empty());
        assert!(!root.path().join(PENDING).exists());
    }
}
