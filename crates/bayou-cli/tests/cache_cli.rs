//! Re-runs reuse what did not change: the node cache seen from `bayou run`.

mod common;

use common::{Mode, TestLake, in_both_modes, s, write_project};
use serde_json::Value;

in_both_modes!(
    an_unchanged_rerun_executes_nothing_and_writes_nothing,
    concurrent_runs_share_the_cache,
    rerun_replays_a_past_runs_code_over_its_data_and_leaves_the_target_alone,
);

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/taxi_pipeline");

/// Runs `bayou -O json run ARGS` with the cache in `cache`; returns the record.
fn run(t: &TestLake, cache: &std::path::Path, args: &[&str]) -> Value {
    t.json_of(
        t.cmd()
            .env("BAYOU_CACHE_DIR", cache)
            .args(["-O", "json", "run"])
            .args(args),
    )
}

/// The nodes a run executed (rather than reused), sorted.
fn executed(record: &Value) -> Vec<String> {
    let mut names: Vec<String> = record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["cached"] != Value::Bool(true) && n["status"] != "from_lake")
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn head(t: &TestLake) -> Value {
    t.json(&["branch", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "main")
        .map(|b| b["head"].clone())
        .unwrap()
}

fn an_unchanged_rerun_executes_nothing_and_writes_nothing(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "20000"]);
    let cache = t.path("cache");
    let first = run(&t, &cache, &["-p", EXAMPLE]);
    assert_eq!(executed(&first).len(), 4);
    let published = head(&t);
    let again = run(&t, &cache, &["-p", EXAMPLE]);
    assert!(executed(&again).is_empty(), "{again}");
    assert_eq!(head(&t), published, "nothing new was written");
    let out = t
        .cmd()
        .env("BAYOU_CACHE_DIR", &cache)
        .args(["run", "-p", EXAMPLE])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("nothing new to publish") && said.contains("0 executed, 4 reused"),
        "{said}"
    );
    // The reused outputs are the same as the executed ones.
    let rows = |r: &Value| {
        let mut v: Vec<(String, Value)> = r["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["name"].as_str().unwrap().to_string(), n["rows"].clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(rows(&first), rows(&again));
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM top_pickup_zones", "main"),
        serde_json::json!(5)
    );
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn what_invalidates_a_cached_node_and_what_does_not() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let cache = t.path("cache");
    let dir = t.path("p");
    let yml = "project:\n  name: t\nparameters:\n  factor:\n    type: int\n    default: 2\n";
    let py = "import bayou\n@bayou.model()\ndef py(d=bayou.Model('scaled')):\n    return d\n";
    let files = |scaled: &str, py: &str, plain: &str| {
        write_project(
            &dir,
            &[
                ("bayou_project.yml", yml),
                ("scaled.sql", scaled),
                ("plain.sql", plain),
                ("py.py", py),
            ],
        );
    };
    let scaled = "SELECT n, n * $factor AS m FROM nums";
    let plain = "SELECT n FROM nums";
    files(scaled, py, plain);
    let p = s(&dir);
    assert_eq!(
        executed(&run(&t, &cache, &["-p", p])),
        ["plain", "py", "scaled"]
    );

    // Comments, blank lines and spacing are not changes.
    files(
        "-- scale it\nSELECT n,\n       n * $factor AS m\nFROM nums\n",
        &format!(
            "# a model\n\n{}",
            py.replace("return d", "return d  # as is")
        ),
        plain,
    );
    assert!(executed(&run(&t, &cache, &["-p", p])).is_empty());

    // Editing one model re-executes it (and would its descendants), nothing else.
    files(scaled, &py.replace("return d", "return d.slice(1)"), plain);
    assert_eq!(executed(&run(&t, &cache, &["-p", p])), ["py"]);

    // A parameter counts for the models that use it, and their descendants.
    assert_eq!(
        executed(&run(&t, &cache, &["-p", p, "--param", "factor=3"])),
        ["py", "scaled"]
    );

    // New data in an input table counts for everything reading it.
    let more = t.csv("more.csv", "n\n4\n");
    t.ok(&["table", "import", "nums", "--search-uri", s(&more)]);
    let after_append = run(&t, &cache, &["-p", p]);
    assert_eq!(executed(&after_append), ["plain", "py", "scaled"]);

    // So does the environment of a Python model.
    files(
        scaled,
        &py.replace(
            "@bayou.model()",
            "@bayou.model()\n@bayou.python('3.11', pip={'six': '1.16.0'})",
        ),
        plain,
    );
    assert_eq!(executed(&run(&t, &cache, &["-p", p])), ["py"]);

    // A helper module (a .py file that defines no model) counts for the Python models.
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/helpers.py"), "FACTOR = 1\n").unwrap();
    assert_eq!(executed(&run(&t, &cache, &["-p", p])), ["py"]);
    assert!(executed(&run(&t, &cache, &["-p", p])).is_empty());
    std::fs::write(dir.join("lib/helpers.py"), "FACTOR = 2\n").unwrap();
    assert_eq!(executed(&run(&t, &cache, &["-p", p])), ["py"]);

    // A damaged cached output is not reused; the next execution repairs it.
    let damaged = std::fs::read_dir(cache.join("nodes"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("out.arrow"))
        .filter(|f| f.exists())
        .collect::<Vec<_>>();
    for f in &damaged {
        std::fs::write(f, b"not arrow").unwrap();
    }
    assert_eq!(
        executed(&run(&t, &cache, &["-p", p])),
        ["plain", "py", "scaled"]
    );
    assert!(executed(&run(&t, &cache, &["-p", p])).is_empty());

    // --no-cache executes everything; cache_strategy="NONE" opts a model out for good.
    assert_eq!(
        executed(&run(&t, &cache, &["-p", p, "--no-cache"])),
        ["plain", "py", "scaled"]
    );
    files(
        &format!("-- bayou: cache_strategy=NONE\n{scaled}"),
        py,
        plain,
    );
    run(&t, &cache, &["-p", p]);
    assert_eq!(executed(&run(&t, &cache, &["-p", p])), ["py", "scaled"]);
}

fn concurrent_runs_share_the_cache(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "5000"]);
    let cache = t.path("cache");
    let start = || {
        t.std_cmd()
            .env("BAYOU_CACHE_DIR", &cache)
            .args(["-O", "json", "run", "--dry-run", "-p", EXAMPLE])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let runs = [start(), start(), start()];
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Whatever order they finished in, the entries they left are whole and reusable.
    let record = run(&t, &cache, &["--dry-run", "-p", EXAMPLE]);
    assert!(executed(&record).is_empty(), "{record}");
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn selection_runs_a_model_alone_with_descendants_or_with_ancestors() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let cache = t.path("cache");
    let dir = t.path("p");
    write_project(
        &dir,
        &[
            ("bayou_project.yml", "project:\n  name: t\n"),
            ("a.sql", "SELECT n FROM nums"),
            ("b.sql", "SELECT n * 2 AS n FROM a"),
            (
                "c.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT n + 1 AS n FROM b",
            ),
            ("d.sql", "SELECT SUM(n) AS total FROM c"),
        ],
    );
    let p = s(&dir);
    let ran = |args: &[&str]| {
        let mut all = vec!["-p", p, "--no-cache"];
        all.extend_from_slice(args);
        executed(&run(&t, &cache, &all))
    };
    // Nothing cached yet and no table for `a`: -m b cannot run, and says why.
    let fresh = t.path("fresh-cache");
    let out = t
        .cmd()
        .env("BAYOU_CACHE_DIR", &fresh)
        .args(["run", "-p", p, "-m", "b"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("read a, which is not selected") && stderr.contains("-m +b"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "the user's to fix: {stderr}");
    let branches = t.json(&["branch", "ls"]);
    assert_eq!(
        branches.as_array().unwrap().len(),
        1,
        "no run branch left: {branches}"
    );
    assert_eq!(ran(&[]), ["a", "b", "c", "d"]);
    assert_eq!(ran(&["-m", "b"]), ["b"]);
    assert_eq!(ran(&["-m", "b+"]), ["b", "c", "d"]);
    assert_eq!(ran(&["-m", "+b"]), ["a", "b"]);
    assert_eq!(ran(&["-m", "a", "-m", "c"]), ["a", "c"]);
    // With nothing cached, an unselected parent that is a table in the lake is read from it.
    let record = run(&t, &fresh, &["-p", p, "-m", "d"]);
    assert_eq!(executed(&record), ["d"]);
    let c = record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "c")
        .unwrap();
    assert_eq!(c["status"], "from_lake", "{record}");
    // What was computed from a stand-in is not cached as if from the model's own output.
    assert_eq!(executed(&run(&t, &fresh, &["-p", p, "-m", "d"])), ["d"]);
    assert_eq!(
        t.scalar("SELECT SUM(n) FROM c", "main"),
        serde_json::json!(15)
    );
    // An unknown model is a usage error naming the closest ones.
    let out = t.cmd().args(["run", "-p", p, "-m", "bb"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean b"));
}

fn rerun_replays_a_past_runs_code_over_its_data_and_leaves_the_target_alone(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let cache = t.path("cache");
    let dir = t.path("p");
    let total = "-- bayou: materialization_strategy=REPLACE\nSELECT SUM(n) AS s FROM nums";
    let py = "import bayou, pyarrow.compute as pc\nfrom lib.helpers import FACTOR\n@bayou.model(materialization_strategy='REPLACE')\ndef doubled(t=bayou.Model('total')):\n    return t.set_column(0, 's', pc.multiply(t.column('s'), FACTOR))\n";
    let write = |total: &str, factor: &str| {
        write_project(
            &dir,
            &[
                ("bayou_project.yml", "project:\n  name: t\n"),
                ("total.sql", total),
                ("doubled.py", py),
                (
                    "pinned.py",
                    "import bayou\n@bayou.model()\ndef pinned(d=bayou.Model('nums', ref='stable')):\n    return d\n",
                ),
            ],
        );
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("lib/helpers.py"), format!("FACTOR = {factor}\n")).unwrap();
    };
    write(total, "2");
    t.ok(&["tag", "create", "stable"]);
    let first = run(&t, &cache, &["-p", s(&dir)]);
    let first_id = first["id"].as_str().unwrap().to_string();
    // The data and the code move on.
    let more = t.csv("more.csv", "n\n4\n");
    t.ok(&["table", "import", "nums", "--search-uri", s(&more)]);
    t.ok(&["tag", "rm", "stable"]);
    t.ok(&["tag", "create", "stable"]); // the tag moves on with the data
    write(&total.replace("SUM(n)", "SUM(n) * 100"), "2");
    run(&t, &cache, &["-p", s(&dir)]);
    let main_head = head(&t);
    assert_eq!(
        t.scalar("SELECT s FROM doubled", "main"),
        serde_json::json!(2000)
    );
    // The helper module moves on too; the replay uses the one stored with the first run.
    write(&total.replace("SUM(n)", "SUM(n) * 100"), "3");

    let replay = |extra: &[&str]| {
        let mut args = vec!["-O", "json", "rerun", first_id.as_str()];
        args.extend_from_slice(extra);
        t.json_of(t.cmd().env("BAYOU_CACHE_DIR", &cache).args(&args))
    };
    let again = replay(&[]);
    assert_eq!(again["replay_of"], first_id.as_str());
    assert_eq!(executed(&again), ["doubled", "pinned", "total"]);
    // A ref= input reads the commit its ref pointed at in the first run.
    let pinned = again["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "pinned")
        .unwrap();
    assert_eq!(pinned["rows"], 3, "{pinned}");
    let branch = again["run_branch"].as_str().unwrap();
    assert_eq!(again["run_branch_kept"], true);
    // Its outputs are the first run's, on its own branch; main did not move.
    assert_eq!(
        t.scalar("SELECT s FROM total", branch),
        serde_json::json!(6)
    );
    assert_eq!(
        t.scalar("SELECT s FROM doubled", branch),
        serde_json::json!(12)
    );
    assert_eq!(head(&t), main_head);

    // --from re-executes a model and what follows; what comes before is the replayed run's.
    let from = replay(&["--from", "doubled"]);
    assert_eq!(executed(&from), ["doubled"]);
    let branch = from["run_branch"].as_str().unwrap();
    assert_eq!(
        t.scalar("SELECT s FROM doubled", branch),
        serde_json::json!(12)
    );
    assert_eq!(head(&t), main_head);

    // An unknown run is a usage error.
    let out = t
        .cmd()
        .args(["rerun", "20990101000000-nope00"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bayou runs ls"));
}
