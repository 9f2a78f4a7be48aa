//! Test support shared by bayou's crates: real PostgreSQL servers on 127.0.0.1, TLS
//! certificates ([`tls::self_signed`]), and an HTTP proxy that injects server errors
//! ([`faults::FaultProxy`]).
//!
//! Entry point: [`Postgres::start`]. When `BAYOU_TEST_POSTGRES` names a running server (the test
//! script starts one for the whole run), tests share it, each in a fresh database; otherwise each
//! test starts a private cluster (`initdb` + `pg_ctl`, a second or two) and stops it when done.
//! Trade-off: a shared server is fast but outlives a crashed test run, so the script owns it.
//! PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::Connection;

pub mod faults;
pub mod tls;

/// A PostgreSQL server for one test: shared (named by `BAYOU_TEST_POSTGRES`) or private.
#[derive(Debug)]
pub struct Postgres {
    /// A URL of the server's `postgres` database, as its superuser.
    url: String,
    _cluster: Option<Cluster>,
}

#[derive(Debug)]
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// The shared server of this test run, or a private one started now.
    ///
    /// # Panics
    /// When PostgreSQL's server programs are not installed or the cluster does not start: the
    /// message says what to install.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("BAYOU_TEST_POSTGRES")
            && !url.is_empty()
        {
            return Self {
                url,
                _cluster: None,
            };
        }
        let cluster = Cluster::start();
        let port = cluster.port;
        Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _cluster: Some(cluster.cluster),
        }
    }

    /// A new, empty database on this server; returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot connect to the test PostgreSQL at {}: {e}", self.url)
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        let _ = conn.close().await;
        let base = self
            .url
            .rsplit_once('/')
            .map_or(self.url.as_str(), |(base, _)| base);
        format!("{base}/{name}")
    }
}

struct Started {
    cluster: Cluster,
    port: u16,
}

impl Cluster {
    fn start() -> Started {
        let bin = server_bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server programs (initdb, pg_ctl) are not installed\n  \
                 hint: apt-get install postgresql, or set BAYOU_TEST_POSTGRES to a running server's URL"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("bayou-pg-")
            .tempdir()
            .expect("a temporary directory");
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()));
        }
        let data = dir.path().join("data");
        let cluster = Cluster {
            bin,
            data,
            as_postgres,
            _dir: dir,
        };
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(&cluster.data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(&mut initdb);
        let port = free_port();
        let socket_dir = cluster
            .data
            .parent()
            .expect("data has a parent")
            .to_path_buf();
        let mut start = cluster.command("pg_ctl");
        start
            .arg("-D")
            .arg(&cluster.data)
            .arg("-l")
            .arg(socket_dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-h 127.0.0.1 -p {port} -k {} -F -c max_connections=300",
                socket_dir.display()
            ))
            .args(["-w", "start"]);
        run(&mut start);
        Started { cluster, port }
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Where `initdb` and `pg_ctl` are: on `PATH`, else Debian's versioned directory (newest first).
fn server_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| dir.join("pg_ctl").is_file()));
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir(Path::new("/usr/lib/postgresql"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("pg_ctl").is_file())
            .collect();
        versions.sort_by_key(|p| {
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
        });
        versions.pop()
    })
}
