//! Every user error is one clear line plus a hint, exit code 1, never a panic.

mod common;

use common::{Mode, TestLake, in_both_modes, s};

in_both_modes!(
    unknown_ref,
    unknown_table_in_sql_and_in_table_get,
    invalid_sql_reports_the_position,
    unreadable_and_missing_files,
    schema_mismatch_on_import_names_the_columns,
    writing_to_a_tag_or_existing_table_is_refused,
    usage_errors_exit_with_code_2,
    every_command_has_help_with_an_example,
    output_to_a_closed_pipe_is_not_an_error,
);

fn unknown_ref(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let err = t.fails(&["query", "SELECT 1", "-r", "nope"]);
    insta::assert_snapshot!(err, @r"
    error: unknown ref 'nope'
      hint: list refs with `bayou branch ls` and `bayou tag ls`
    ");
}

fn unknown_table_in_sql_and_in_table_get(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let err = t.fails(&["table", "get", "ghost"]);
    assert!(
        err.contains("unknown table 'bayou.ghost' at 'main'"),
        "{err}"
    );
    assert!(err.contains("bayou table ls"), "{err}");
    let err = t.fails(&["query", "SELECT * FROM ghost"]);
    assert!(err.contains("table 'bayou.ghost' not found\n"), "{err}");
    assert!(err.contains("hint: `bayou table ls`"), "{err}");
}

fn invalid_sql_reports_the_position(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let err = t.fails(&["query", "SELEC 1"]);
    assert!(err.starts_with("error: invalid SQL"), "{err}");
    assert!(err.contains("Line: 1, Column: 1"), "{err}");
}

fn unreadable_and_missing_files(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let err = t.fails(&["table", "create", "a", "--search-uri", "/no/such/file.csv"]);
    assert!(
        err.contains("/no/such/file.csv") && err.contains("no such file"),
        "{err}"
    );
    let bad = t.csv("bad.parquet", "this is not parquet");
    let err = t.fails(&["table", "create", "a", "--search-uri", s(&bad)]);
    assert!(err.contains("bad.parquet"), "{err}");
    let err = t.fails(&[
        "table",
        "create",
        "a",
        "--search-uri",
        s(&t.path("*.nothing")),
    ]);
    assert!(err.contains("matches no .parquet or .csv file"), "{err}");
}

fn schema_mismatch_on_import_names_the_columns(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("a", "id,name\n1,x\n");
    let bad = t.csv("b.csv", "id,nickname\nnot_a_number,y\n");
    let err = t.fails(&["table", "import", "a", "--search-uri", s(&bad)]);
    assert!(
        err.contains("'id' is Utf8 in the data but Int64 in the table"),
        "{err}"
    );
    assert!(err.contains("'nickname' is not in the table"), "{err}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM a", "main"),
        serde_json::json!(1),
        "nothing was written"
    );
}

fn writing_to_a_tag_or_existing_table_is_refused(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let csv = t.csv("a.csv", "x\n1\n");
    t.ok(&["table", "create", "a", "--search-uri", s(&csv)]);
    t.ok(&["tag", "create", "v1"]);
    let err = t.fails(&["table", "import", "a", "--search-uri", s(&csv), "-b", "v1"]);
    assert!(err.contains("not a branch"), "{err}");
    let err = t.fails(&["table", "create", "a", "--search-uri", s(&csv)]);
    assert!(err.contains("already exists"), "{err}");
    let err = t.fails(&["branch", "create", "v1"]);
    assert!(err.contains("already exists"), "{err}");
    let err = t.fails(&["branch", "create", "bad name"]);
    assert!(err.contains("invalid branch name"), "{err}");
}

fn usage_errors_exit_with_code_2(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let out = t.cmd().args(["table", "create"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn every_command_has_help_with_an_example(mode: Mode) {
    let t = TestLake::in_mode(mode);
    for args in [
        vec!["query"],
        vec!["table", "create"],
        vec!["table", "import"],
        vec!["table", "get"],
        vec!["branch", "merge"],
        vec!["branch", "create"],
        vec!["tag", "create"],
        vec!["log"],
        vec!["checkout"],
        vec!["namespace", "create"],
        vec!["demo", "load"],
    ] {
        let mut full = args.clone();
        full.push("--help");
        let help = t.ok(&full);
        assert!(
            help.contains("Example"),
            "`bayou {}` help has no example:\n{help}",
            args.join(" ")
        );
    }
}

fn output_to_a_closed_pipe_is_not_an_error(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "1000"]);
    let mut child = t
        .std_cmd()
        .args(["query", "SELECT * FROM taxi_fhvhv", "--all-rows"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once, like `| head -0`
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
}

/// Embedded only: a server opens its lake with one catalog, its own.
#[test]
fn a_lake_refuses_a_second_catalog_and_says_how_to_share_it() {
    let t = TestLake::new();
    t.ok(&["branch", "create", "dev"]);
    // The same root through another catalog database: refused, the lake untouched.
    let other = t.path("other.db");
    let out = t
        .cmd()
        .env("BAYOU_CATALOG", format!("sqlite:{}", other.display()))
        .args(["branch", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belongs to another catalog"), "{err}");
    assert!(err.contains("hint:") && err.contains("--remote"), "{err}");
    // Its own catalog still opens it, with what it had.
    assert!(t.ok(&["branch", "ls"]).contains("dev"));
}
