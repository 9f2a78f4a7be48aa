//! The function runtime seen from `bayou run`: how intermediate tables reach Python functions,
//! how environments are shared between runs, and what an invocation reports about its cost.

mod common;

use common::{Mode, TestLake, in_both_modes, node, s, write_project};
use serde_json::{Value, json};

in_both_modes!(
    children_of_one_parent_map_one_shared_copy_of_its_output,
    children_asking_for_the_same_scan_of_a_lake_table_share_one_file,
    a_python_invocation_reports_where_its_time_went,
    an_input_at_a_ref_reads_the_table_as_of_that_ref,
    an_input_at_an_unknown_ref_is_reported_as_such,
);

const YML: &str = "project:\n  name: test\n";

/// A model that prints the Arrow files its process has mapped, then returns its input.
fn mapping_child(name: &str, parent: &str, columns: &str) -> String {
    format!(
        "import bayou\n@bayou.model()\ndef {name}(p=bayou.Model('{parent}'{columns})):\n    \
         maps = sorted({{l.split()[-1] for l in open('/proc/self/maps') if l.rstrip().endswith('.arrow')}})\n    \
         print('mapped', *maps)\n    return p\n"
    )
}

fn mapped(record: &Value, name: &str) -> Vec<String> {
    let log = node(record, name)["log"].as_array().unwrap();
    let line = log
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.starts_with("mapped"))
        .unwrap_or_else(|| panic!("{name} printed no mappings: {log:?}"));
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn children_of_one_parent_map_one_shared_copy_of_its_output(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let dir = t.path("p");
    let parent = "import bayou, pyarrow as pa, pyarrow.compute as pc\n@bayou.model()\ndef parent(d=bayou.Model('nums')):\n    n = d.column('n')\n    return pa.table({'n': n, 'x': pc.multiply(n, 10), 'y': pc.multiply(n, 100)})\n";
    let (c1, c2, c3, c4) = (
        mapping_child("c1", "parent", ", columns=['n', 'x']"),
        mapping_child("c2", "parent", ", columns=['y']"),
        mapping_child("c3", "parent", ""),
        mapping_child("c4", "doubled", ""),
    );
    let (c5, c6) = (
        mapping_child("c5", "tripled", ", columns=['m']"),
        mapping_child("c6", "tripled", ", columns=['m']"),
    );
    write_project(
        &dir,
        &[
            ("bayou_project.yml", YML),
            ("parent.py", parent),
            ("doubled.sql", "SELECT n, n * 2 AS m FROM nums"),
            ("c1.py", &c1),
            ("c2.py", &c2),
            ("c3.py", &c3),
            ("c4.py", &c4),
            ("tripled.sql", "SELECT n, n * 3 AS m FROM nums"),
            ("c5.py", &c5),
            ("c6.py", &c6),
        ],
    );
    let record = t.json_of(
        t.cmd()
            .args(["-O", "json", "run", "--preview", "-p", s(&dir)]),
    );
    // The three children of `parent` map one and the same file, the parent's own output.
    let files: Vec<Vec<String>> = ["c1", "c2", "c3"]
        .iter()
        .map(|c| mapped(&record, c))
        .collect();
    assert_eq!(files[0].len(), 1, "{files:?}");
    assert!(files[0][0].ends_with("/parent/out.arrow"), "{files:?}");
    assert!(files.iter().all(|f| f == &files[0]), "{files:?}");
    // A SQL model read by Python is handed over the same way.
    let sql = mapped(&record, "c4");
    assert!(
        sql.len() == 1 && sql[0].ends_with("/doubled/out.arrow"),
        "{sql:?}"
    );
    // A SQL model read only in part is never written whole: its children share one file of
    // the columns they asked for.
    let part = mapped(&record, "c5");
    assert_eq!(part.len(), 1, "{part:?}");
    assert!(!part[0].contains("/tripled/"), "{part:?}");
    assert_eq!(mapped(&record, "c6"), part);
    assert_eq!(node(&record, "c5")["columns"], json!(["m"]));
    assert_eq!(node(&record, "c6")["preview"][2], json!({"m": 9}));
    // Each child sees only the columns it asked for, in its order.
    assert_eq!(node(&record, "c1")["columns"], json!(["n", "x"]));
    assert_eq!(node(&record, "c2")["columns"], json!(["y"]));
    assert_eq!(node(&record, "c3")["columns"], json!(["n", "x", "y"]));
    assert_eq!(node(&record, "c2")["preview"][2], json!({"y": 300}));
}

fn children_asking_for_the_same_scan_of_a_lake_table_share_one_file(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n,m\n1,5\n2,6\n3,7\n");
    let dir = t.path("p");
    let (a, b, filtered) = (
        mapping_child("a", "nums", ", columns=['m']"),
        mapping_child("b", "nums", ", columns=['m']"),
        mapping_child("f", "nums", ", columns=['m'], filter='n > 1'"),
    );
    write_project(
        &dir,
        &[
            ("bayou_project.yml", YML),
            ("a.py", &a),
            ("b.py", &b),
            ("f.py", &filtered),
        ],
    );
    let record = t.json_of(t.cmd().args(["-O", "json", "run", "-p", s(&dir)]));
    assert_eq!(mapped(&record, "a"), mapped(&record, "b"));
    assert_ne!(mapped(&record, "a"), mapped(&record, "f"));
    assert_eq!(node(&record, "f")["rows"], json!(2));
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn concurrent_runs_needing_a_new_environment_build_it_once() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n");
    let cache = t.path("fresh-cache");
    let project = |name: &str| {
        let dir = t.path(name);
        write_project(
            &dir,
            &[
                ("bayou_project.yml", YML),
                (
                    "m.py",
                    "import bayou\n@bayou.model()\n@bayou.python('3.11')\ndef m(d=bayou.Model('nums')):\n    return d\n",
                ),
            ],
        );
        dir
    };
    let (first, second) = (project("p1"), project("p2"));
    let start = |dir: &std::path::Path| {
        t.std_cmd()
            .env("BAYOU_CACHE_DIR", &cache)
            .args(["run", "-p", s(dir)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let runs = [start(&first), start(&second)];
    let mut built = 0;
    for run in runs {
        let out = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        built += stderr
            .lines()
            .filter(|l| l.contains("m | environment") && l.contains("built in"))
            .count();
    }
    assert_eq!(
        built, 1,
        "one run builds the environment, the other waits for it"
    );
    let listed: Vec<_> = std::fs::read_dir(cache.join("envs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
}

fn a_python_invocation_reports_where_its_time_went(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.project(
        YML,
        &[
            (
                "m.py",
                "import bayou, time\n@bayou.model()\ndef m(d=bayou.Model('nums')):\n    time.sleep(0.3)\n    return d\n",
            ),
        ],
    );
    let record = t.json_of(t.cmd().args(["-O", "json", "run", "-p", s(&dir)]));
    let m = node(&record, "m");
    let phases = m["phases_ms"].as_object().unwrap();
    let names: Vec<&str> = phases.keys().map(String::as_str).collect();
    for phase in [
        "start",
        "import",
        "user_load",
        "map_inputs",
        "user_call",
        "write_output",
        "exit",
        "read_back",
    ] {
        assert!(names.contains(&phase), "{phase} missing from {names:?}");
    }
    // The user's sleep is the user's, not the platform's.
    let user_call = phases["user_call"].as_f64().unwrap();
    assert!(user_call >= 300.0, "{phases:?}");
    let overhead = m["overhead_ms"].as_f64().unwrap();
    let total = m["seconds"].as_f64().unwrap() * 1000.0;
    assert!(overhead > 0.0 && overhead + user_call <= total + 1.0, "{m}");
}

fn an_input_at_a_ref_reads_the_table_as_of_that_ref(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n2\n");
    t.ok(&["tag", "create", "v1"]);
    let more = t.csv("more.csv", "n\n3\n4\n5\n");
    t.ok(&["table", "import", "nums", "--search-uri", s(&more)]);
    let dir = t.project(
        YML,
        &[
            (
                "m.py",
                "import bayou\n@bayou.model()\ndef then(d=bayou.Model('nums', ref='v1')):\n    return d\n@bayou.model()\ndef now(d=bayou.Model('nums')):\n    return d\n",
            ),
        ],
    );
    let record = t.json_of(t.cmd().args(["-O", "json", "run", "-p", s(&dir)]));
    assert_eq!(node(&record, "then")["rows"], json!(2));
    assert_eq!(node(&record, "now")["rows"], json!(5));
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn a_function_that_fills_shared_memory_runs_again_with_its_output_on_disk() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n");
    let exchange = t.path("exchange");
    // Stands in for a full /dev/shm: writing under the exchange directory fails with ENOSPC.
    let model = format!(
        "import bayou, errno, os\n@bayou.model()\ndef big(d=bayou.Model('nums')):\n    print('writing in', os.getcwd())\n    if os.getcwd().startswith({:?}):\n        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n    return d\n",
        exchange.display().to_string()
    );
    let dir = t.project(YML, &[("m.py", &model)]);
    let record = t.json_of(t.cmd().env("BAYOU_EXCHANGE_DIR", &exchange).args([
        "-O",
        "json",
        "run",
        "-p",
        s(&dir),
    ]));
    let big = node(&record, "big");
    assert_eq!(big["rows"], json!(2), "{big}");
    let log: Vec<&str> = big["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        log.iter()
            .any(|l| l.contains("shared memory filled up under 'big'")),
        "{log:?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("writing in")).count(),
        2,
        "{log:?}"
    );
}

fn an_input_at_an_unknown_ref_is_reported_as_such(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.project(
        YML,
        &[(
            "m.py",
            "import bayou\n@bayou.model()\ndef m(d=bayou.Model('nums', ref='nope')):\n    return d\n",
        )],
    );
    let out = t.cmd().args(["run", "-p", s(&dir)]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("m.py:3: 'm' reads 'nums' at ref 'nope', which is no branch, tag or commit"),
        "{stderr}"
    );
    assert!(!stderr.contains("neither a model"), "{stderr}");
}
