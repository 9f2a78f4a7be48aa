//! A server and two workers, each on its own host: network namespaces joined by a bridge, so
//! everything between them crosses a real network stack. Workers attach, report, are lost when
//! their link is cut or they are killed, and come back as new sessions.
//!
//! Needs root and iproute2's `ip` (dev/test.sh installs it; CI runs as root).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Proc, TestLake, s};
use serde_json::Value;

/// Three hosts on one bridge: `s` (10.231.0.1), `a` (.2) and `b` (.3); removed when dropped.
struct Lan {
    prefix: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run `ip` (iproute2): this test needs it, and root");
    assert!(
        out.status.success(),
        "ip {args:?}: {}\n  hint: this test makes network namespaces: run it as root",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lan {
    fn new() -> Self {
        let prefix = format!("by{}", std::process::id() % 100_000);
        let lan = Self { prefix };
        let sw = lan.ns("sw");
        ip(&["netns", "add", &sw]);
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        for (i, host) in ["s", "a", "b"].iter().enumerate() {
            let ns = lan.ns(host);
            ip(&["netns", "add", &ns]);
            let (inner, outer) = (format!("e{host}"), format!("p{host}"));
            ip(&[
                "-n", &ns, "link", "add", &inner, "type", "veth", "peer", "name", &outer, "netns",
                &sw,
            ]);
            ip(&["-n", &sw, "link", "set", &outer, "master", "br0", "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.231.0.{}/24", i + 1),
                "dev",
                &inner,
            ]);
            ip(&["-n", &ns, "link", "set", &inner, "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        lan
    }

    fn ns(&self, host: &str) -> String {
        format!("{}{host}", self.prefix)
    }

    /// Cuts (or mends) `host`'s link to the bridge.
    fn link(&self, host: &str, up: bool) {
        ip(&[
            "-n",
            &self.ns(host),
            "link",
            "set",
            &format!("e{host}"),
            if up { "up" } else { "down" },
        ]);
    }

    /// `bayou ARGS` on `host`, with the lake's environment.
    fn bayou(&self, t: &TestLake, host: &str) -> Command {
        let inner = t.std_cmd();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(host)])
            .arg(inner.get_program());
        cmd.args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for host in ["s", "a", "b", "sw"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(host)])
                .status();
        }
    }
}

/// `bayou worker` on `host`, attached to `url` with `key`, listening on every address (and
/// `extra` arguments): its process, its Flight URL and its session id, once welcomed.
fn attach(
    lan: &Lan,
    t: &TestLake,
    host: &str,
    url: &str,
    key: &str,
    extra: &[&str],
) -> (Proc, String, String) {
    let mut c = lan.bayou(t, host);
    c.args(["-O", "json", "worker", "--server", url, "--key", key])
        .args(["--listen", "0.0.0.0:0"])
        .args(extra);
    let mut p = Proc::start(c);
    let flight = p.next()["flight"].as_str().expect("flight url").to_string();
    let id = p.next()["attached"].as_str().expect("attached").to_string();
    (p, flight, id)
}

fn key(t: &TestLake, args: &[&str]) -> String {
    let made = t.json(&[&["server", "key", "create"], args].concat());
    made["key"].as_str().expect("key").to_string()
}

/// `worker ls` from the server's host, until `ready` holds (heartbeats keep their own clock);
/// fails after 20 seconds.
fn until(
    lan: &Lan,
    t: &TestLake,
    url: &str,
    user_key: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = lan
            .bayou(t, "s")
            .args([
                "--remote",
                url,
                "--api-key",
                user_key,
                "-O",
                "json",
                "worker",
                "ls",
            ])
            .output()
            .expect("run bayou worker ls");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let workers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
        if ready(&workers) {
            return workers;
        }
        // Paced, so the polling does not starve the workers' own heartbeats on a small machine.
        std::thread::sleep(Duration::from_millis(100));
        assert!(Instant::now() < deadline, "never got there: {workers:#?}");
    }
}

fn state<'a>(workers: &'a [Value], id: &str) -> Option<&'a str> {
    workers
        .iter()
        .find(|w| w["id"] == id)
        .and_then(|w| w["state"].as_str())
}

#[test]
fn workers_on_their_own_hosts_attach_and_are_lost_when_cut_off_or_killed() {
    let t = TestLake::new();
    let lan = Lan::new();
    let user_key = key(&t, &["--user", "ada"]);
    let worker_key = key(&t, &["--worker", "w"]);
    let mut server = Proc::start({
        let mut c = lan.bayou(&t, "s");
        c.args([
            "-O",
            "json",
            "server",
            "--listen",
            "10.231.0.1:0",
            "--worker-heartbeat",
            "500ms",
        ]);
        c
    });
    let url = server.next()["listening"]
        .as_str()
        .expect("url")
        .to_string();
    let worker = |host: &str| {
        let cache = t.path(&format!("cache-{host}"));
        let extra = ["--cores", "1", "--memory", "1GB", "--cache-dir", s(&cache)];
        let (p, flight, id) = attach(&lan, &t, host, &url, &worker_key, &extra);
        (p, flight, id)
    };
    let (mut a, flight_a, id_a) = worker("a");
    let (mut b, flight_b, id_b) = worker("b");
    assert_ne!(id_a, id_b, "each session has its own id");
    // Each advertises the address its host reaches the server from.
    assert!(flight_a.starts_with("http://10.231.0.2:"), "{flight_a}");
    assert!(flight_b.starts_with("http://10.231.0.3:"), "{flight_b}");

    let workers = until(&lan, &t, &url, &user_key, |ws| {
        ws.iter()
            .filter(|w| w["state"] == "up" && w["memory_used_bytes"].as_u64() > Some(0))
            .count()
            == 2
    });
    let a_info = workers
        .iter()
        .find(|w| w["id"] == id_a.as_str())
        .expect("a listed");
    assert_eq!(a_info["flight_url"], flight_a.as_str());
    assert_eq!(
        (a_info["cores"].as_u64(), a_info["memory_bytes"].as_u64()),
        (Some(1), Some(1_000_000_000))
    );

    // A's cable is cut: no stream closes, its heartbeats stop, the server loses it; B stays.
    lan.link("a", false);
    let workers = until(&lan, &t, &url, &user_key, |ws| {
        state(ws, &id_a) == Some("lost")
    });
    // B is up, under its first session or, on a machine busy enough to miss its heartbeats,
    // a later one.
    assert!(
        workers
            .iter()
            .any(|w| w["flight_url"] == flight_b.as_str() && w["state"] == "up"),
        "{workers:#?}"
    );
    // Mended, A attaches again as a new session (its old one gets nothing more).
    lan.link("a", true);
    let again = loop {
        let line = a.next();
        if let Some(id) = line["attached"].as_str() {
            break id.to_string();
        }
    };
    assert_ne!(again, id_a);
    until(&lan, &t, &url, &user_key, |ws| {
        state(ws, &again) == Some("up") && state(ws, &id_a) == Some("lost")
    });

    // B is killed: its connection closes with it and the server sees it go.
    let _ = b.child.kill();
    let _ = b.child.wait();
    until(&lan, &t, &url, &user_key, |ws| {
        ws.iter()
            .filter(|w| w["flight_url"] == flight_b.as_str())
            .all(|w| w["state"] == "lost")
    });
    let _ = server.child.kill();
}

#[test]
fn a_worker_with_a_users_key_is_refused_and_says_why() {
    let t = TestLake::with_server();
    let server = t.server.as_ref().expect("server");
    let out = t
        .cmd()
        .args([
            "worker",
            "--server",
            &server.url,
            "--key",
            &server.key,
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run bayou worker");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused this worker"), "{err}");
    assert!(err.contains("--worker NAME"), "{err}");
    // And without a server to name, it says what to pass.
    let err = t.refuses(&["worker", "--key", "k"]);
    assert!(err.contains("--server URL"), "{err}");
}

const BRANCHES: &str = "import bayou\nimport pyarrow.compute as pc\n\
@bayou.model()\n\
def left(d=bayou.Model('doubled')):\n    return d.set_column(0, 'n', pc.add(d.column('n'), 1))\n\
@bayou.model()\n\
def right(d=bayou.Model('doubled')):\n    return d.set_column(0, 'n', pc.multiply(d.column('n'), 10))\n\
@bayou.model(materialization_strategy='REPLACE')\n\
def both(l=bayou.Model('left'), r=bayou.Model('right')):\n    import pyarrow as pa\n    return pa.table({'n': pa.concat_arrays([l.column('n').combine_chunks(), r.column('n').combine_chunks()])})\n";

#[test]
fn a_dag_runs_across_two_hosts_and_children_fetch_from_their_peers() {
    spread_over_two_hosts(false);
}

#[test]
fn a_child_that_cannot_reach_its_peer_runs_again_with_inputs_from_the_server() {
    spread_over_two_hosts(true);
}

/// The branches run one on each host, the join where one of its inputs is. With `cut_peers`,
/// the two workers cannot reach each other (both still reach the server): the join's fetch from
/// its peer fails, and it runs again with every input from the server's copies.
fn spread_over_two_hosts(cut_peers: bool) {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let lan = Lan::new();
    let user_key = key(&t, &["--user", "ada"]);
    let worker_key = key(&t, &["--worker", "w"]);
    let mut server = Proc::start({
        let mut c = lan.bayou(&t, "s");
        c.args(["-O", "json", "server", "--listen", "10.231.0.1:0"]);
        c
    });
    let url = server.next()["listening"]
        .as_str()
        .expect("url")
        .to_string();
    // Both workers use the machine's shared environment cache (a namespace has no index to
    // build one from).
    let worker = |host: &str| {
        let (p, _flight, id) = attach(&lan, &t, host, &url, &worker_key, &[]);
        (p, id)
    };
    let (_a, id_a) = worker("a");
    let (_b, id_b) = worker("b");
    if cut_peers {
        ip(&[
            "-n",
            &lan.ns("a"),
            "route",
            "add",
            "unreachable",
            "10.231.0.3/32",
        ]);
        ip(&[
            "-n",
            &lan.ns("b"),
            "route",
            "add",
            "unreachable",
            "10.231.0.2/32",
        ]);
    }
    let dir = t.project(
        "project:\n  name: spread\n",
        &[
            ("doubled.sql", "SELECT n * 2 AS n FROM nums"),
            ("models.py", BRANCHES),
        ],
    );
    let out = lan
        .bayou(&t, "s")
        .args([
            "--remote",
            &url,
            "--api-key",
            &user_key,
            "-O",
            "json",
            "run",
            "-p",
        ])
        .arg(&dir)
        .output()
        .expect("run bayou run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: Value = serde_json::from_slice(&out.stdout).expect("the run's record");
    let ran_on = |name: &str| {
        common::node(&record, name)["worker"]
            .as_str()
            .map(str::to_string)
    };
    let (left, right, both) = (ran_on("left"), ran_on("right"), ran_on("both"));
    // The two branches ran side by side, one on each host; the join ran where one of its
    // inputs already was and fetched the other from the peer that held it.
    let mut hosts = vec![left.clone().unwrap(), right.clone().unwrap()];
    hosts.sort();
    let mut ids = vec![id_a, id_b];
    ids.sort();
    assert_eq!(hosts, ids, "{record:#}");
    assert!(both == left || both == right, "{record:#}");
    let log = common::node(&record, "both")["log"].to_string();
    assert_eq!(
        log.contains("could not fetch its inputs"),
        cut_peers,
        "{record:#}"
    );
    let moved = common::node(&record, "both")["moved_bytes"]
        .as_u64()
        .unwrap();
    assert!(
        moved > 0,
        "the join fetched one input across hosts: {record:#}"
    );
    // left: 2, 4, 6 plus one each = 15; right: 20 + 40 + 60 = 120.
    let got = t.scalar("SELECT SUM(n) FROM both", "main");
    assert_eq!(got, serde_json::json!(135));
    let _ = server.child.kill();
}
