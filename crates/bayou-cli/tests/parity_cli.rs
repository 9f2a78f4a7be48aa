//! bauplan's CLI habits on bayou: `commit` as the log with filters and formats, the
//! `--if-exists`/`--if-not-exists` flags, `branch get`, `table ls` filters, `checkout -b`,
//! `version`, and the run id on every commit a run makes.

mod common;

use common::{TestLake, run_json, s, write_project};
use serde_json::{Value, json};

#[test]
fn creating_what_exists_and_removing_what_does_not_succeed_with_the_if_flags() {
    let t = TestLake::new();
    t.ok(&["branch", "create", "dev"]);
    t.ok(&["tag", "create", "v1"]);
    t.ok(&["namespace", "create", "raw"]);
    // Without the flags, each is an error.
    assert!(t.fails(&["branch", "create", "dev"]).contains("dev"));
    assert!(t.fails(&["tag", "rm", "nope"]).contains("nope"));
    assert!(t.fails(&["namespace", "rm", "nope"]).contains("nope"));
    assert!(t.fails(&["table", "rm", "nope"]).contains("nope"));
    // With them, nothing to do is success.
    for args in [
        &["branch", "create", "dev", "--if-not-exists"][..],
        &["branch", "rm", "nope", "--if-exists"],
        &["tag", "create", "v1", "--if-not-exists"],
        &["tag", "rm", "nope", "--if-exists"],
        &["namespace", "create", "raw", "--if-not-exists"],
        &["namespace", "rm", "nope", "--if-exists"],
        &["table", "rm", "nope", "--if-exists"],
    ] {
        let out = t.ok(args);
        assert!(
            out.contains("nothing to do") || out.contains("nothing to remove"),
            "{args:?}: {out}"
        );
    }
    // And what does exist is still removed.
    t.ok(&["branch", "rm", "dev", "--if-exists"]);
    let branches = t.json(&["branch", "ls"]).to_string();
    assert!(!branches.contains("\"dev\""), "{branches}");
}

#[test]
fn branch_get_lists_its_tables_and_table_ls_filters_by_namespace_and_name() {
    let t = TestLake::new();
    t.ok(&["demo", "load", "--rows", "100"]);
    t.ok(&["namespace", "create", "raw"]);
    t.table_from_csv("raw.trips_2024", "a\n1\n");
    t.ok(&["checkout", "-b", "dev"]);
    t.table_from_csv("raw.zones_copy", "a\n1\n");
    let dev = t.json(&["branch", "get", "dev"]);
    let names: Vec<&str> = dev["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{dev}");
    assert!(names.contains(&"zones_copy"));
    let main = t.json(&["branch", "get", "main"]);
    assert_eq!(main["tables"].as_array().unwrap().len(), 3, "{main}");
    assert!(t.fails(&["branch", "get", "v_nope"]).contains("v_nope"));
    let raw = t.json(&["table", "ls", "--namespace", "raw", "--name", "trips"]);
    assert_eq!(raw.as_array().unwrap().len(), 1, "{raw}");
    assert_eq!(raw[0]["name"], json!("trips_2024"));
    let default = t.json(&["table", "ls", "--namespace", "bauplan"]);
    assert_eq!(
        default.as_array().unwrap().len(),
        2,
        "bauplan = bayou: {default}"
    );
    // checkout -b made dev the active branch.
    assert_eq!(t.json(&["info"])["active_branch"], json!("dev"));
}

#[test]
fn commit_filters_the_log_and_a_runs_commits_carry_its_id() {
    let t = TestLake::new();
    t.ok(&["demo", "load", "--rows", "100"]);
    let dir = t.path("p");
    write_project(
        &dir,
        &[
            ("bauplan_project.yml", "project:\n  name: p\n"),
            (
                "zone_count.sql",
                "-- bauplan: materialization_strategy = REPLACE\nSELECT COUNT(*) AS n FROM taxi_zones\n",
            ),
        ],
    );
    let (code, record, stderr) = run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    let id = record["id"].as_str().unwrap();
    let by_run = t.json(&["commit", "--property", &format!("bayou_run_id={id}")]);
    let by_run = by_run.as_array().unwrap();
    assert_eq!(by_run.len(), 1, "{by_run:?}");
    assert_eq!(by_run[0]["properties"]["bpln_job_id"], json!(id));
    assert!(
        by_run[0]["message"]
            .as_str()
            .unwrap()
            .contains("zone_count")
    );
    // Message and author filters are regular expressions; --limit caps the list.
    let model = t.json(&["commit", "--message", "zone_count$", "--limit", "5"]);
    assert_eq!(model.as_array().unwrap().len(), 1, "{model}");
    let nobody = t.json(&["commit", "--author-name", "^nobody$"]);
    assert_eq!(nobody, json!([]));
    let all = t.json(&["commit", "--author-name", "^tester$"]);
    assert!(all.as_array().unwrap().len() >= 2, "{all}");
    // git's formats.
    let oneline = t.ok(&["commit", "--format", "oneline", "--limit", "2"]);
    assert_eq!(oneline.lines().count(), 2, "{oneline}");
    assert!(
        oneline
            .lines()
            .all(|l| l.split('\t').next().unwrap().len() == 64)
    );
    let full = t.ok(&["commit", "--format", "full", "--limit", "1"]);
    assert!(
        full.starts_with("commit ")
            && full.contains("Author: tester")
            && full.contains(&format!("bayou_run_id={id}")),
        "{full}"
    );
    let bad = t.cmd().args(["commit", "--message", "("]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a regular expression"));
}

#[test]
fn version_needs_no_lake() {
    let t = TestLake::new();
    let v: Value = t.json(&["version"]);
    assert_eq!(v["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(!t.lake().exists(), "no lake was created");
}
