//! Shared helpers for end-to-end tests: a fresh lake per test and the real `bayou` binary.

#![allow(
    dead_code,
    unreachable_pub,
    unused_macros,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Runs each test body (`fn name(mode: Mode)`) once per mode: on an embedded lake and through
/// a `bayou server`. One source, both modes.
macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[test] fn $name() { super::$name(super::Mode::Embedded) })*
        }
        mod remote {
            $(#[test] fn $name() { super::$name(super::Mode::Remote) })*
        }
    };
}
pub(crate) use in_both_modes;

/// A temporary lake and home directory; removed when dropped. With a server, commands go to a
/// real `bayou server` over that lake (catalog on a real PostgreSQL) with a real API key.
pub struct TestLake {
    pub dir: tempfile::TempDir,
    pub server: Option<Server>,
}

/// How a test reaches its lake: the same test body runs in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Embedded,
    Remote,
}

/// A running `bayou server` (killed when dropped) and the PostgreSQL its catalog is on.
pub struct Server {
    child: std::process::Child,
    pub url: String,
    pub key: String,
    /// The catalog database's URL.
    pub catalog: String,
    _postgres: bayou_testkit::Postgres,
}

impl Server {
    /// Kills the server at once (`kill -9`): nothing of it gets to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestLake {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            server: None,
        }
    }

    pub fn in_mode(mode: Mode) -> Self {
        match mode {
            Mode::Embedded => Self::new(),
            Mode::Remote => Self::with_server(),
        }
    }

    /// A lake served by `bayou server` with its catalog on PostgreSQL, and a key for `tester`.
    pub fn with_server() -> Self {
        Self::with_server_args(&[])
    }

    /// [`TestLake::with_server`] with more arguments for `bayou server`.
    pub fn with_server_args(extra: &[&str]) -> Self {
        use std::io::BufRead as _;
        let mut lake = Self::new();
        let postgres = bayou_testkit::Postgres::start();
        let catalog = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(postgres.fresh_database());
        let lake_dir = lake.lake();
        let admin = |args: &[&str]| {
            let mut cmd = lake.embedded_cmd();
            cmd.env("BAYOU_CATALOG", &catalog).args(args);
            cmd
        };
        let made = admin(&["-O", "json", "server", "key", "create", "--user", "tester"])
            .output()
            .expect("run bayou server key create");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let made: Value = serde_json::from_slice(&made.stdout).expect("key JSON");
        let mut child = admin(&["-O", "json", "server", "--listen", "127.0.0.1:0"])
            .args(extra)
            .arg("--lake")
            .arg(&lake_dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start bayou server");
        // The server's first line says where it listens (port 0 picked a free one).
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the server's first line");
        let listening: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("bad first line from the server ({e}): {first}"));
        lake.server = Some(Server {
            child,
            url: listening["listening"].as_str().expect("url").to_string(),
            key: made["key"].as_str().expect("key").to_string(),
            catalog,
            _postgres: postgres,
        });
        lake
    }

    pub fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `bayou` with this lake, a private HOME and a fixed author, as a plain process (for tests
    /// that stream its output or signal it).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = self.embedded_cmd();
        if let Some(server) = &self.server {
            cmd.env("BAYOU_REMOTE", &server.url)
                .env("BAYOU_API_KEY", &server.key);
        }
        cmd
    }

    /// `bayou` on the lake in this process even when the test has a server, sharing the
    /// server's catalog (to set up data the remote commands then read).
    pub fn admin_cmd(&self) -> Command {
        let mut cmd = self.embedded_cmd();
        if let Some(server) = &self.server {
            cmd.env("BAYOU_CATALOG", &server.catalog);
        }
        Command::from_std(cmd)
    }

    fn embedded_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("bayou"));
        cmd.env("BAYOU_LAKE", self.lake())
            .env("HOME", self.dir.path())
            .env("BAYOU_AUTHOR", "tester")
            // Python environments and uv's wheel cache are shared by all tests: building one
            // per test would measure the network, not bayou.
            .env("BAYOU_CACHE_DIR", shared_cache().join("bayou"))
            .env("UV_CACHE_DIR", shared_cache().join("uv"))
            // The example project sits in bayou's own git checkout: its git branch must not
            // pick the data branch (the git test turns this back on).
            .env("BAYOU_GIT_BRANCH", "off")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("BAYOU_REMOTE")
            .env_remove("BAYOU_API_KEY")
            .env_remove("BAYOU_CATALOG");
        cmd
    }

    /// [`TestLake::std_cmd`] with assert_cmd's conveniences.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// Runs `bayou ARGS` and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run bayou");
        assert!(
            out.status.success(),
            "bayou {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs `bayou ARGS` and expects success; returns stdout and stderr (notes, warnings).
    pub fn ok_noting(&self, args: &[&str]) -> (String, String) {
        let out = self.cmd().args(args).output().expect("run bayou");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success(),
            "bayou {args:?} failed ({}):\n{stderr}",
            out.status
        );
        (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
    }

    /// Runs `bayou ARGS` and expects a usage error (exit code 2, the input's problem); returns
    /// stderr.
    pub fn refuses(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run bayou");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "bayou {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "bayou panicked: {stderr}");
        stderr
    }

    /// Runs `bayou -O json ARGS` and parses the output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["-O", "json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{text}"))
    }

    /// A project directory `p` with `config` as its `bayou_project.yml` and `files`.
    pub fn project(&self, config: &str, files: &[(&str, &str)]) -> PathBuf {
        self.project_in("p", config, files)
    }

    /// [`TestLake::project`] in directory `name`, for tests with several projects.
    pub fn project_in(&self, name: &str, config: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.path(name);
        write_project(&dir, &[("bayou_project.yml", config)]);
        write_project(&dir, files);
        dir
    }

    /// Runs a prepared `bayou` command (say, with extra environment), expects success and
    /// parses its JSON output.
    pub fn json_of(&self, cmd: &mut Command) -> Value {
        let out = cmd.output().expect("run bayou");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "bayou failed ({}):\n{stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "bayou panicked: {stderr}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("bad JSON: {e}\n{}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Runs `bayou ARGS`, expects failure with exit code 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run bayou");
        assert_eq!(
            out.status.code(),
            Some(1),
            "bayou {args:?} should fail with exit code 1; stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8(out.stderr).expect("utf-8 output");
        assert!(!err.contains("panicked"), "bayou panicked: {err}");
        assert!(
            !err.contains("RUST_BACKTRACE"),
            "bayou printed a backtrace: {err}"
        );
        err
    }

    /// The single value of a one-row, one-column query, as JSON.
    pub fn scalar(&self, sql: &str, reference: &str) -> Value {
        let rows = self.json(&["query", sql, "-r", reference]);
        let row = rows
            .as_array()
            .and_then(|r| r.first())
            .expect("one row")
            .as_object()
            .unwrap();
        row.values().next().expect("one column").clone()
    }

    /// Creates table `name` on the active branch from a CSV text.
    pub fn table_from_csv(&self, name: &str, csv: &str) {
        let file = self.csv(&format!("{name}-{}.csv", uuid_like()), csv);
        self.ok(&["table", "create", name, "--search-uri", s(&file)]);
    }

    /// Writes a CSV file under the test directory.
    pub fn csv(&self, rel: &str, body: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, body).unwrap();
        p
    }
}

/// The Python with the test peers (pyiceberg, DuckDB, pyarrow): `BAYOU_TEST_PYTHON`, set by
/// dev/test.sh, else `python3`.
pub fn python() -> std::process::Command {
    std::process::Command::new(
        std::env::var("BAYOU_TEST_PYTHON").unwrap_or_else(|_| "python3".into()),
    )
}

/// Runs the test Python with `args`, expects success and returns its stdout.
pub fn python_ok(args: &[&str]) -> String {
    let out = python().args(args).output().expect("run python");
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}\n(hint: run dev/test.sh, which installs the test peers)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A name no other file of this test uses.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// A cache directory shared by the test binaries of this build.
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shared-cache")
}

/// Writes a project directory from (file name, content) pairs.
pub fn write_project(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The report of node `name` in a run record.
pub fn node<'a>(record: &'a Value, name: &str) -> &'a Value {
    record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node {name} in {record}"))
}

/// Runs `bayou -O json run ARGS` as `cmd` sets it up: (exit code, run record, stderr). Never
/// a panic.
pub fn run_json(cmd: &mut Command, args: &[&str]) -> (i32, Value, String) {
    let out = cmd.args(["-O", "json", "run"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// Runs `git ARGS` in `dir` with a fixed identity, and expects success.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rest of a child's stderr, line by line.
pub type StderrLines = std::io::Lines<std::io::BufReader<std::process::ChildStderr>>;

/// Starts `cmd` with stderr piped and reads it until a line contains `needle` (a condition,
/// not a timer); returns the child, the rest of its stderr and the lines read, that one last.
pub fn spawn_until(
    cmd: &mut std::process::Command,
    needle: &str,
) -> (std::process::Child, StderrLines, Vec<String>) {
    use std::io::BufRead as _;
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start bayou");
    let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8 stderr");
        let found = line.contains(needle);
        seen.push(line);
        if found {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains(needle)),
        "never saw '{needle}': {seen:?}"
    );
    (child, lines, seen)
}

/// A process that is killed when dropped, with its stdout read line by line.
pub struct Proc {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Proc {
    pub fn start(mut cmd: std::process::Command) -> Self {
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start bayou");
        // Lines go through a thread, so a wait for one can have a deadline.
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next JSON line it prints (a condition: waits until it says something, at most 60 s).
    pub fn next(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a line within 60 s");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
