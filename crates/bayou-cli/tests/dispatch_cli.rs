//! A server's runs send their Python nodes to the workers attached to it: real `bayou server`,
//! `bayou worker` and `bayou run` processes. The worker fetches each input from whoever holds
//! it, runs the function, and the run reads the output back; the report names the worker and
//! the bytes that crossed. A worker killed mid-run fails the run and leaves the target as it was.

mod common;

use common::{Proc, TestLake, node, s};
use serde_json::{Value, json};

/// A `bayou worker` attached to the test's server (killed when dropped), and its session id.
struct Worker {
    proc: Proc,
    id: String,
}

fn worker_key(t: &TestLake) -> String {
    let out = t
        .admin_cmd()
        .args(["-O", "json", "server", "key", "create", "--worker", "w"])
        .output()
        .expect("run bayou server key create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).expect("key JSON");
    made["key"].as_str().expect("key").to_string()
}

/// Starts a worker and waits for its welcome (a condition: its second line, within 60 s).
fn worker(t: &TestLake, key: &str) -> Worker {
    worker_with(t, key, &[])
}

fn worker_with(t: &TestLake, key: &str, extra: &[&str]) -> Worker {
    let url = &t.server.as_ref().expect("a server").url;
    let mut cmd = t.std_cmd();
    cmd.args(["-O", "json", "worker", "--server", url, "--key", key])
        .args(["--listen", "127.0.0.1:0"])
        .args(extra);
    let mut proc = Proc::start(cmd);
    assert!(proc.next()["flight"].is_string());
    let id = proc.next()["attached"]
        .as_str()
        .expect("attached")
        .to_string();
    Worker { proc, id }
}

/// The head of `main`.
fn main(t: &TestLake) -> Value {
    main_of(&t.json(&["branch", "ls"]))
}

fn main_of(branches: &Value) -> Value {
    branches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "main")
        .map(|b| b["head"].clone())
        .expect("main")
}

const YML: &str = "project:\n  name: dispatched\n";

const MODELS: &str = "import bayou\nimport pyarrow.compute as pc\n\
@bayou.model()\n\
def tripled(d=bayou.Model('doubled')):\n    print('tripling', d.num_rows, 'rows')\n    return d.set_column(0, 'n', pc.multiply(d.column('n'), 3))\n\
@bayou.model(materialization_strategy='REPLACE')\n\
def plus_one(t=bayou.Model('tripled')):\n    return t.set_column(0, 'n', pc.add(t.column('n'), 1))\n\
@bayou.expectation()\n\
def positive(p=bayou.Model('plus_one')):\n    return pc.all(pc.greater(p.column('n'), 0)).as_py()\n";

#[test]
fn python_nodes_run_on_an_attached_worker_and_their_outputs_come_back() {
    let t = TestLake::with_server();
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let key = worker_key(&t);
    let w = worker(&t, &key);
    let dir = t.project(
        YML,
        &[
            ("doubled.sql", "SELECT n * 2 AS n FROM nums"),
            ("models.py", MODELS),
            (
                "total.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT SUM(n) AS s FROM plus_one",
            ),
        ],
    );
    let (code, record, stderr) = common::run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    // (1+2+3) * 2 * 3 + 3 = 39, computed by SQL over what the worker's functions made.
    assert_eq!(t.scalar("SELECT s FROM total", "main"), json!(39));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM plus_one", "main"), json!(3));
    for name in ["tripled", "plus_one", "positive"] {
        let n = node(&record, name);
        assert_eq!(n["worker"], json!(w.id), "{name} ran on the worker: {n:#}");
        assert_eq!(n["status"], json!("succeeded"), "{n:#}");
    }
    // SQL stays with the run; the first function's input crossed to the worker and its
    // output came back: bytes moved both ways.
    assert!(node(&record, "doubled").get("worker").is_none());
    let moved = node(&record, "tripled")["moved_bytes"].as_u64().unwrap();
    assert!(moved > 0, "{record:#}");
    // The line the function printed streamed back with the node's log.
    let log = node(&record, "tripled")["log"].to_string();
    assert!(log.contains("tripling 3 rows"), "{log}");

    // The table view names the worker.
    let run_id = record["id"].as_str().unwrap();
    let shown = t.ok(&["job", "get", run_id]);
    assert!(shown.contains(&w.id), "{shown}");
}

#[test]
fn a_failing_function_on_a_worker_fails_the_run_and_leaves_the_target() {
    let t = TestLake::with_server();
    t.table_from_csv("nums", "n\n1\n");
    let key = worker_key(&t);
    let _w = worker(&t, &key);
    let dir = t.project(
        YML,
        &[(
            "models.py",
            "import bayou\n@bayou.model(materialization_strategy='REPLACE')\ndef broken(d=bayou.Model('nums')):\n    print('about to fail')\n    raise ValueError('bad row 7')\n",
        )],
    );
    let before = t.json(&["branch", "ls"]);
    let (code, record, stderr) = common::run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("'broken' failed: ValueError: bad row 7"),
        "{stderr}"
    );
    assert_eq!(record["status"], json!("failed"));
    assert_eq!(main(&t), main_of(&before));
    assert!(
        node(&record, "broken")["log"]
            .to_string()
            .contains("about to fail")
    );
}

#[test]
fn a_worker_killed_mid_node_fails_the_run_and_leaves_the_target() {
    let t = TestLake::with_server();
    t.table_from_csv("nums", "n\n1\n");
    let key = worker_key(&t);
    let mut w = worker(&t, &key);
    let dir = t.project(
        YML,
        &[(
            "models.py",
            "import bayou, time\n@bayou.model(materialization_strategy='REPLACE')\ndef slow(d=bayou.Model('nums')):\n    print('slow started', flush=True)\n    time.sleep(600)\n    return d\n",
        )],
    );
    let before = main(&t);
    let mut cmd = t.std_cmd();
    cmd.args(["run", "-p", s(&dir)]);
    // The function's first line, streamed live from the worker, says it is running.
    let (mut run, rest, _) = common::spawn_until(&mut cmd, "slow started");
    let _ = w.proc.child.kill();
    let _ = w.proc.child.wait();
    let status = run.wait().expect("the run ends");
    let said: Vec<String> = rest.map_while(Result::ok).collect();
    let said = said.join("\n");
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("worker {} was lost", w.id)),
        "{said}"
    );
    assert_eq!(main(&t), before, "the target is as it was");
}

#[test]
fn a_node_whose_worker_dies_runs_again_on_another() {
    let t = TestLake::with_server();
    t.table_from_csv("nums", "n\n1\n2\n");
    let key = worker_key(&t);
    let cache_a = t.path("cache-a");
    let mut a = worker_with(&t, &key, &["--cache-dir", s(&cache_a)]);
    // Only on worker A (its interpreter lives under A's cache) does the function hang.
    let dir = t.project(
        YML,
        &[(
            "models.py",
            "import bayou, sys, time\n@bayou.model(materialization_strategy='REPLACE')\ndef once(d=bayou.Model('nums')):\n    if '/cache-a/' in sys.executable:\n        print('hanging on a', flush=True)\n        time.sleep(600)\n    return d\n",
        )],
    );
    let mut cmd = t.std_cmd();
    cmd.args(["run", "-p", s(&dir)]);
    // Its line, streamed live from A, says it hangs there.
    let (mut run, rest, _) = common::spawn_until(&mut cmd, "hanging on a");
    let b = worker(&t, &key);
    let _ = a.proc.child.kill();
    let _ = a.proc.child.wait();
    let status = run.wait().expect("the run ends");
    let said: Vec<String> = rest.map_while(Result::ok).collect();
    assert_eq!(status.code(), Some(0), "{}", said.join("\n"));
    let id = t.json(&["runs", "ls"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let record = t.json(&["runs", "show", &id]);
    let once = node(&record, "once");
    assert_eq!(once["worker"], json!(b.id), "{once:#}");
    assert!(
        once["log"]
            .to_string()
            .contains(&format!("worker {} was lost", a.id)),
        "{once:#}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM once", "main"), json!(2));
}

#[test]
fn without_a_local_worker_python_needs_an_attached_worker() {
    let t = TestLake::with_server_args(&["--no-local-worker"]);
    t.table_from_csv("nums", "n\n1\n2\n");
    let dir = t.project(
        YML,
        &[(
            "models.py",
            "import bayou\n@bayou.model(materialization_strategy='REPLACE')\ndef copied(d=bayou.Model('nums')):\n    return d\n",
        )],
    );
    let before = main(&t);
    let (code, _, stderr) = common::run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no worker is up to run 'copied'"),
        "{stderr}"
    );
    assert!(stderr.contains("--no-local-worker"), "{stderr}");
    assert_eq!(main(&t), before);
    let key = worker_key(&t);
    let w = worker(&t, &key);
    let (code, record, stderr) = common::run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(node(&record, "copied")["worker"], json!(w.id));
}
