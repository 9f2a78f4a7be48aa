//! `bayou gc` removes what no ref reaches and nothing else; `bayou lake check` says whether
//! a lake is whole. Both modes: on a server, gc takes an admin key.

mod common;

use common::{Mode, TestLake, in_both_modes, s};
use serde_json::{Value, json};

const YML: &str = "project:\n  name: gc\n";

in_both_modes!(
    gc_removes_only_what_no_ref_reaches_and_every_reader_still_reads_every_ref,
    lake_check_names_a_missing_file_and_gc_then_removes_nothing,
    gc_running_alongside_writers_merges_and_failed_runs_loses_nothing_any_ref_reaches,
);

/// `bayou -O json gc ARGS` as the lake's owner: in this process, or with an admin key on a
/// server (which refuses the tests' ordinary key first, saying what to do).
fn gc(t: &TestLake, args: &[&str]) -> Value {
    let mut cmd = t.cmd();
    if t.server.is_some() {
        let refused = t.fails(&[&["gc"], args].concat());
        assert!(
            refused.contains("only an admin key") && refused.contains("--admin"),
            "{refused}"
        );
        let made = t.json_of(t.admin_cmd().args([
            "-O", "json", "server", "key", "create", "--user", "ops", "--admin",
        ]));
        assert_eq!(made["admin"], json!(true));
        cmd.env("BAYOU_API_KEY", made["key"].as_str().unwrap());
    }
    t.json_of(cmd.args(["-O", "json", "gc"]).args(args))
}

/// Every table at every branch and tag: (table, ref, metadata location, rows as bayou counts).
fn everything(t: &TestLake) -> Vec<(String, String, String, u64)> {
    let mut out = Vec::new();
    let refs: Vec<Value> = [t.json(&["branch", "ls"]), t.json(&["tag", "ls"])]
        .into_iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .collect();
    for r in refs {
        let reference = r["name"].as_str().unwrap().to_string();
        for table in t
            .json(&["table", "ls", "-r", &reference])
            .as_array()
            .unwrap()
        {
            let name = format!(
                "{}.{}",
                table["namespace"].as_str().unwrap(),
                table["name"].as_str().unwrap()
            );
            let info = t.json(&["table", "get", &name, "-r", &reference]);
            let sql = format!("SELECT COUNT(*) AS n FROM {name}");
            let n = t.json(&["query", &sql, "-r", &reference])[0]["n"]
                .as_u64()
                .unwrap();
            let location = info["metadata_location"].as_str().unwrap().to_string();
            out.push((name, reference.clone(), location, n));
        }
    }
    out.sort();
    out
}

/// pyiceberg and DuckDB open every table at every ref from its metadata and count the rows
/// bayou counts.
fn every_reader_reads_every_table_at_every_ref(t: &TestLake) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/read_table.py");
    for (table, reference, location, rows) in everything(t) {
        for reader in ["pyiceberg", "duckdb"] {
            let out = common::python_ok(&[script, reader, &location, "--count"]);
            let read: u64 = out.trim().parse().unwrap();
            assert_eq!(read, rows, "{reader}: {table} at {reference}");
        }
    }
}

/// A branch `dropped` that appends a row to `trips` and is then deleted unmerged; returns the
/// id of its head commit.
fn dropped_branch(t: &TestLake) -> String {
    t.ok(&["branch", "create", "dropped"]);
    t.ok(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        s(&t.csv("c.csv", "id,miles\n4,9.0\n")),
        "-b",
        "dropped",
    ]);
    let head = t
        .json(&["branch", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "dropped")
        .unwrap()["head"]
        .as_str()
        .unwrap()
        .to_string();
    t.ok(&["branch", "rm", "dropped"]);
    head
}

fn files_under(dir: &std::path::Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.file_type().is_ok_and(|t| t.is_dir()) {
            true => out.extend(walk(&entry.path())),
            false => out.push(entry.path()),
        }
    }
    out
}

fn gc_removes_only_what_no_ref_reaches_and_every_reader_still_reads_every_ref(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("trips", "id,miles\n1,2.5\n2,4.0\n");
    t.ok(&["tag", "create", "first"]);
    // An append on a branch merged back: its files are reached through main now.
    t.ok(&["branch", "create", "merged"]);
    t.ok(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        s(&t.csv("b.csv", "id,miles\n3,1.0\n")),
        "-b",
        "merged",
    ]);
    t.ok(&["branch", "merge", "merged", "--into", "main"]);
    // A branch written to and deleted unmerged: only it reached its files.
    let dropped = dropped_branch(&t);
    // A failed run keeps its run branch, holding what it wrote before failing.
    let project = t.project(
        YML,
        &[
            (
                "kept.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT id * 2 AS id FROM trips",
            ),
            (
                "broken.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT nope FROM kept",
            ),
        ],
    );
    let failed = t.fails(&["run", "-p", s(&project)]);
    assert!(failed.contains("nope"), "{failed}");
    let run = t.json(&["job", "ls"])[0].clone();
    let run_branch = run["run_branch"].as_str().unwrap().to_string();
    assert!(
        t.json(&["branch", "ls"])
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == run_branch.as_str())
    );
    let before = everything(&t);
    let tables_dir = t.lake().join("tables");
    let files_before = files_under(&tables_dir);

    // A dry run lists without removing; the default grace keeps every fresh file.
    let dry = gc(
        &t,
        &["--dry-run", "--older-than", "0s", "--keep-runs-days", "0"],
    );
    assert_eq!(dry["run_branches"], json!([run_branch]));
    assert_eq!(
        dry["commits"],
        json!([dropped]),
        "only the deleted branch's commit"
    );
    assert!(!dry["files"].as_array().unwrap().is_empty(), "{dry}");
    assert_eq!(files_under(&tables_dir), files_before);
    let young = gc(&t, &[]);
    assert_eq!(
        (
            young["files"].clone(),
            young["run_branches"].clone(),
            young["commits"].clone()
        ),
        (json!([]), json!([]), json!([]))
    );
    // The deleted branch's commit is young: it and its files stay for now.
    assert!(
        young["reachable"].as_u64().unwrap() > dry["reachable"].as_u64().unwrap(),
        "{young}"
    );

    let done = gc(&t, &["--older-than", "0s", "--keep-runs-days", "0"]);
    assert_eq!(done["run_branches"], json!([run_branch]));
    // The deleted branch's commit went (the failed run committed nothing): its id no longer
    // resolves.
    assert_eq!(done["commits"], json!([dropped]), "{done}");
    let gone = t.fails(&["branch", "create", "back", "--from-ref", &dropped]);
    assert!(gone.contains(&dropped[..8]), "{gone}");
    let removed = done["files"].as_array().unwrap();
    assert_eq!(
        removed,
        dry["files"].as_array().unwrap(),
        "the dry run listed what goes"
    );
    assert_eq!(files_under(&tables_dir), files_before - removed.len());
    assert!(done["bytes"].as_u64().unwrap() > 0);
    // The run's record says its branch is gone; nothing any ref holds changed.
    assert_eq!(t.json(&["job", "ls"])[0]["run_branch_kept"], json!(false));
    assert_eq!(
        everything(&t)
            .iter()
            .filter(|e| e.1 != run_branch)
            .cloned()
            .collect::<Vec<_>>(),
        before
            .iter()
            .filter(|e| e.1 != run_branch)
            .cloned()
            .collect::<Vec<_>>()
    );
    let check = t.json(&["lake", "check"]);
    assert_eq!(check["problems"], json!([]), "{check}");
    // Other readers open every table at every ref from its metadata, as bayou counts it.
    every_reader_reads_every_table_at_every_ref(&t);
    // Nothing left to remove.
    let again = gc(&t, &["--older-than", "0s", "--keep-runs-days", "0"]);
    assert_eq!(
        (again["files"].clone(), again["commits"].clone()),
        (json!([]), json!([]))
    );
}

fn lake_check_names_a_missing_file_and_gc_then_removes_nothing(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("trips", "id,miles\n1,2.5\n");
    assert!(t.ok(&["lake", "check"]).contains("the lake is whole"));
    let data = walk(&t.lake().join("tables"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    std::fs::remove_file(&data).unwrap();
    let err = t.fails(&["lake", "check"]);
    assert!(err.contains("the lake has 1 problem(s)"), "{err}");
    let out = t
        .cmd()
        .args(["-O", "json", "lake", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = data.file_name().unwrap().to_str().unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0].as_str().unwrap().contains(name)
            && problems[0].as_str().unwrap().ends_with("missing"),
        "{report}"
    );
    // Still fine to collect: the missing file is named by the history, which reads whole.
    let done = gc(&t, &["--older-than", "0s"]);
    assert_eq!(done["files"], json!([]));
}

/// Sets every file under `dir` (or `dir` itself, a file) to have been written two days ago.
fn age(dir: &std::path::Path) {
    let files = match dir.is_file() {
        true => vec![dir.to_path_buf()],
        false => walk(dir),
    };
    for file in files {
        let done = std::process::Command::new("touch")
            .args(["-d", "2 days ago"])
            .arg(&file)
            .status()
            .unwrap();
        assert!(done.success());
    }
}

fn gc_running_alongside_writers_merges_and_failed_runs_loses_nothing_any_ref_reaches(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("trips", "id,miles\n1,2.5\n2,4.0\n");
    // Garbage from before: an unmerged branch's writes, a failed run's branch.
    dropped_branch(&t);
    let failing = t.project(
        YML,
        &[(
            "broken.sql",
            "-- bayou: materialization_strategy=REPLACE\nSELECT nope FROM trips",
        )],
    );
    t.fails(&["run", "-p", s(&failing)]);
    // Garbage no commit names, as failed writes leave it (the deleted branch's files stay
    // while its commit is young): a data file and a half-written one.
    let data = walk(&t.lake().join("tables"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let dir = data.parent().unwrap();
    std::fs::copy(&data, dir.join("0000-failed-00000.parquet")).unwrap();
    std::fs::write(dir.join("0000-killed-00000.parquet#1"), b"half").unwrap();
    age(&t.lake().join("tables"));
    std::thread::scope(|scope| {
        let appends = scope.spawn(|| {
            for i in 0..8 {
                let csv = t.csv(
                    &format!("a{i}.csv"),
                    &format!("id,miles\n{},1.0\n", 100 + i),
                );
                t.ok(&["table", "import", "trips", "--search-uri", s(&csv)]);
            }
        });
        let merges = scope.spawn(|| {
            for i in 0..3 {
                let branch = format!("side{i}");
                t.ok(&["branch", "create", &branch, "--from-ref", "main"]);
                let csv = t.csv(
                    &format!("m{i}.csv"),
                    &format!("id,miles\n{},2.0\n", 200 + i),
                );
                t.ok(&[
                    "table",
                    "import",
                    "trips",
                    "--search-uri",
                    s(&csv),
                    "-b",
                    &branch,
                ]);
                t.ok(&["branch", "merge", &branch, "--into", "main"]);
            }
        });
        let runs = scope.spawn(|| {
            for _ in 0..2 {
                t.fails(&["run", "-p", s(&failing)]);
            }
        });
        let mut removed = 0;
        for _ in 0..3 {
            let done = gc(&t, &["--older-than", "1h", "--keep-runs-days", "0"]);
            removed += done["files"].as_array().unwrap().len();
        }
        for worker in [appends, merges, runs] {
            worker.join().unwrap();
        }
        assert_eq!(removed, 2, "the old garbage went, and only it");
    });
    // Every write landed and every table at every ref reads whole, by every reader.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM trips", "main"),
        json!(2 + 8 + 3)
    );
    let check = t.json(&["lake", "check"]);
    assert_eq!(check["problems"], json!([]), "{check}");
    every_reader_reads_every_table_at_every_ref(&t);
}

/// Embedded only: it writes into the lake's directory as a killed write would have.
#[test]
fn gc_removes_what_killed_writes_left_half_written_once_old_enough() {
    let t = TestLake::new();
    t.table_from_csv("trips", "id,miles\n1,2.5\n");
    let data = walk(&t.lake().join("tables"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let dir = data.parent().unwrap();
    // The object store writes NAME#N and renames it when the write completes; a kill -9
    // partway leaves NAME#N behind, which object listings do not show.
    let old = dir.join("0000-killed-00000.parquet#1");
    let young = dir.join("0000-writing-00000.parquet#2");
    std::fs::write(&old, vec![7u8; 4096]).unwrap();
    std::fs::write(&young, vec![7u8; 512]).unwrap();
    age(&old);
    let done = t.json(&["gc", "--older-than", "1d"]);
    let removed: Vec<&str> = done["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"].as_str().unwrap())
        .collect();
    assert_eq!(removed, vec![old.to_str().unwrap()], "{done}");
    assert_eq!(done["bytes"], json!(4096));
    assert!(!old.exists() && young.exists() && data.exists());
    assert!(done["young_kept"].as_u64().unwrap() >= 1, "{done}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM trips", "main"), json!(1));
}
