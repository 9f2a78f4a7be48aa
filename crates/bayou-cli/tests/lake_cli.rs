//! End-to-end tests of the lake commands, driving the real `bayou` binary.

mod common;

use common::{Mode, TestLake, in_both_modes, s};
use serde_json::json;

in_both_modes!(
    a_new_lake_starts_with_an_active_main_branch,
    demo_load_writes_both_tables_with_the_requested_rows,
    branches_isolate_imports_until_merged_and_tags_keep_the_past,
    appends_on_both_sides_merge_into_one_table_holding_both,
    overlapping_changes_conflict_naming_the_table_and_leave_the_target_unchanged,
    dropping_and_reverting_tables,
    namespaces_group_tables_and_must_exist,
    checkout_changes_the_default_branch_of_later_commands,
    log_pages_with_after,
    query_output_limits_and_files,
    filters_prune_data_files_by_manifest_statistics,
    filters_prune_row_groups_by_parquet_statistics,
    partitioned_tables_write_a_file_per_partition_and_filters_skip_the_others,
    a_replace_with_a_new_partitioning_repartitions_the_table,
);

fn loaded(mode: Mode, rows: &str) -> TestLake {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", rows]);
    t
}

fn a_new_lake_starts_with_an_active_main_branch(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let branches = t.json(&["branch", "ls"]);
    assert_eq!(
        branches,
        json!([{"name": "main", "head": branches[0]["head"], "active": true}])
    );
    assert_eq!(t.json(&["table", "ls"]), json!([]));
}

fn demo_load_writes_both_tables_with_the_requested_rows(mode: Mode) {
    let t = loaded(mode, "5000");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM taxi_fhvhv", "main"),
        json!(5000)
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM bayou.taxi_zones", "main"),
        json!(265)
    );
    let info = t.json(&["table", "get", "taxi_fhvhv"]);
    assert_eq!(info["rows"], json!(5000));
    assert_eq!(info["columns"].as_array().unwrap().len(), 24);
    let loc = info["metadata_location"].as_str().unwrap();
    assert!(
        loc.starts_with("file://") && loc.ends_with(".metadata.json"),
        "{loc}"
    );
    let path = loc.strip_prefix("file://").unwrap();
    assert!(
        std::path::Path::new(path).is_file(),
        "metadata file exists: {path}"
    );
    // No rows: the tables are there, empty.
    t.ok(&["demo", "load", "--rows", "0"]);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM taxi_fhvhv", "main"),
        json!(0)
    );
    assert_eq!(
        t.json(&["table", "get", "taxi_fhvhv"])["columns"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
}

fn branches_isolate_imports_until_merged_and_tags_keep_the_past(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let csv = t.csv("a.csv", "id,name\n1,a\n2,b\n");
    t.ok(&["table", "create", "people", "--search-uri", s(&csv)]);
    t.ok(&["tag", "create", "v1"]);
    t.ok(&["branch", "create", "feat"]);
    let more = t.csv("b.csv", "id,name\n3,c\n");
    t.ok(&[
        "table",
        "import",
        "people",
        "--search-uri",
        s(&more),
        "-b",
        "feat",
    ]);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM people", "feat"), json!(3));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM people", "main"), json!(2));
    let diff = t.json(&["branch", "diff", "main", "feat"]);
    assert_eq!(diff[0]["table"], json!("bayou.people"));
    assert_eq!(diff[0]["change"], json!("changed"));
    let merged = t.json(&["branch", "merge", "feat", "--into", "main"]);
    assert_eq!(merged["result"], json!("fast_forward"));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM people", "main"), json!(3));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM people", "v1"), json!(2));
    // Time travel by commit id works too.
    let log = t.json(&["log", "main"]);
    let first_commit = log
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["message"].as_str().unwrap().starts_with("create"))
        .unwrap();
    let id = first_commit["id"].as_str().unwrap();
    assert_eq!(t.scalar("SELECT COUNT(*) FROM people", &id[..12]), json!(2));
}

fn appends_on_both_sides_merge_into_one_table_holding_both(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("events", "id\n0\n");
    t.ok(&["branch", "create", "side"]);
    t.ok(&[
        "table",
        "import",
        "events",
        "--search-uri",
        s(&t.csv("1.csv", "id\n1\n2\n")),
        "-b",
        "side",
    ]);
    t.ok(&[
        "table",
        "import",
        "events",
        "--search-uri",
        s(&t.csv("2.csv", "id\n3\n")),
    ]);
    let merged = t.json(&["branch", "merge", "side"]);
    assert_eq!(merged["result"], json!("merged"));
    assert_eq!(merged["combined"], json!(["bayou.events"]));
    let rows = t.json(&["query", "SELECT id FROM events ORDER BY id", "--all-rows"]);
    assert_eq!(rows, json!([{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3}]));
    let info = t.json(&["table", "get", "events"]);
    assert_eq!(info["rows"], json!(4));
    // The history runs from the merged snapshot back to the create, each one's parent next.
    let history = info["snapshots"].as_array().unwrap();
    assert_eq!(history[0]["snapshot_id"], info["snapshot_id"]);
    assert_eq!(history[0]["total_records"], json!(4));
    for pair in history.windows(2) {
        assert_eq!(pair[0]["parent_id"], pair[1]["snapshot_id"]);
    }
    let first = history.last().unwrap();
    assert_eq!(
        (first["total_records"].clone(), first["parent_id"].clone()),
        (json!(1), json!(null))
    );
}

fn overlapping_changes_conflict_naming_the_table_and_leave_the_target_unchanged(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("a", "x\n1\n");
    t.table_from_csv("b", "y\n1\n");
    t.ok(&["branch", "create", "side"]);
    t.ok(&[
        "table",
        "create",
        "a",
        "--replace",
        "--search-uri",
        s(&t.csv("a2.csv", "x\n7\n")),
        "-b",
        "side",
    ]);
    t.ok(&[
        "table",
        "import",
        "b",
        "--search-uri",
        s(&t.csv("b2.csv", "y\n2\n")),
        "-b",
        "side",
    ]);
    t.ok(&[
        "table",
        "import",
        "a",
        "--search-uri",
        s(&t.csv("a3.csv", "x\n9\n")),
    ]);
    let before = t.json(&["branch", "ls"]);
    let err = t.fails(&["branch", "merge", "side"]);
    assert!(err.contains("bayou.a"), "{err}");
    assert!(
        !err.contains("bayou.b"),
        "only the overlapping table is named: {err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(t.json(&["branch", "ls"]), before, "no branch moved");
    assert_eq!(t.scalar("SELECT SUM(x) FROM a", "main"), json!(10));
}

fn dropping_and_reverting_tables(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("a", "x\n1\n");
    t.ok(&["tag", "create", "good"]);
    t.ok(&[
        "table",
        "import",
        "a",
        "--search-uri",
        s(&t.csv("a2.csv", "x\n5\n")),
    ]);
    t.ok(&["table", "revert", "a", "--to-ref", "good"]);
    assert_eq!(t.scalar("SELECT SUM(x) FROM a", "main"), json!(1));
    t.ok(&["table", "rm", "a"]);
    let err = t.fails(&["table", "get", "a"]);
    assert!(err.contains("unknown table 'bayou.a'"), "{err}");
    assert_eq!(t.scalar("SELECT SUM(x) FROM a", "good"), json!(1));
}

fn namespaces_group_tables_and_must_exist(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let csv = t.csv("a.csv", "x\n1\n");
    let err = t.fails(&["table", "create", "raw.a", "--search-uri", s(&csv)]);
    assert!(
        err.contains("unknown namespace 'raw'") && err.contains("bayou namespace create raw"),
        "{err}"
    );
    t.ok(&["namespace", "create", "raw"]);
    t.ok(&["table", "create", "raw.a", "--search-uri", s(&csv)]);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM raw.a", "main"), json!(1));
    let err = t.fails(&["namespace", "rm", "raw"]);
    assert!(err.contains("raw.a"), "{err}");
}

fn checkout_changes_the_default_branch_of_later_commands(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["branch", "create", "dev"]);
    t.ok(&["checkout", "dev"]);
    t.table_from_csv("a", "x\n1\n");
    assert_eq!(t.json(&["table", "ls", "-r", "main"]), json!([]));
    assert_eq!(t.json(&["table", "ls"]).as_array().unwrap().len(), 1);
    let err = t.fails(&["branch", "rm", "dev"]);
    assert!(err.contains("active branch"), "{err}");
    t.ok(&["branch", "rename", "dev", "work"]);
    assert_eq!(t.json(&["info"])["active_branch"], json!("work"));
}

fn log_pages_with_after(mode: Mode) {
    let t = TestLake::in_mode(mode);
    for i in 0..3 {
        let csv = t.csv(&format!("{i}.csv"), "x\n1\n");
        let verb = if i == 0 { "create" } else { "import" };
        t.ok(&["table", verb, "a", "--search-uri", s(&csv)]);
    }
    let all = t.json(&["log"]);
    assert_eq!(all.as_array().unwrap().len(), 4);
    let page = t.json(&["log", "-n", "2", "--after", all[1]["id"].as_str().unwrap()]);
    assert_eq!(page[0]["id"], all[2]["id"]);
    assert_eq!(page.as_array().unwrap().len(), 2);
}

fn query_output_limits_and_files(mode: Mode) {
    let t = loaded(mode, "3000");
    let shown = t.ok(&[
        "query",
        "SELECT LocationID FROM taxi_zones ORDER BY LocationID",
    ]);
    assert!(shown.contains("showing the first 10 rows"), "{shown}");
    let rows = t.json(&[
        "query",
        "SELECT LocationID FROM taxi_zones",
        "--max-rows",
        "3",
    ]);
    assert_eq!(rows.as_array().unwrap().len(), 3);
    let all = t.json(&["query", "SELECT LocationID FROM taxi_zones", "--all-rows"]);
    assert_eq!(all.as_array().unwrap().len(), 265);
    let out = t.path("zones.csv");
    t.ok(&["query", "SELECT * FROM taxi_zones", "--out", s(&out)]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 266);
    let pq = t.path("trips.parquet");
    t.ok(&["query", "SELECT * FROM taxi_fhvhv", "--out", s(&pq)]);
    // The written Parquet file imports back with the same row count.
    t.ok(&["table", "create", "copy", "--search-uri", s(&pq)]);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM copy", "main"), json!(3000));
    let sql_file = t.csv(
        "q.sql",
        "SELECT COUNT(*) AS n FROM taxi_zones WHERE Borough = 'Manhattan'",
    );
    let n = t.json(&["query", "-f", s(&sql_file)]);
    assert!(n[0]["n"].as_i64().unwrap() > 0);
}

fn filters_prune_data_files_by_manifest_statistics(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("m", "k,v\n1,a\n2,b\n");
    t.ok(&[
        "table",
        "import",
        "m",
        "--search-uri",
        s(&t.csv("1.csv", "k,v\n10,c\n11,d\n")),
    ]);
    t.ok(&[
        "table",
        "import",
        "m",
        "--search-uri",
        s(&t.csv("2.csv", "k,v\n20,e\n21,f\n")),
    ]);
    let plan = t.ok(&[
        "query",
        "EXPLAIN SELECT v FROM m WHERE k >= 10 AND k < 12",
        "--all-rows",
    ]);
    assert!(
        plan.contains("file_groups={1 group: [["),
        "one file is scanned:\n{plan}"
    );
    let rows = t.json(&[
        "query",
        "SELECT v FROM m WHERE k >= 10 AND k < 12 ORDER BY v",
    ]);
    assert_eq!(rows, json!([{"v": "c"}, {"v": "d"}]));
    let none = t.json(&["query", "SELECT v FROM m WHERE k > 100"]);
    assert_eq!(none, json!([]));
}

fn filters_prune_row_groups_by_parquet_statistics(mode: Mode) {
    let t = loaded(mode, "600000");
    let sql = "EXPLAIN ANALYZE SELECT COUNT(*) FROM taxi_fhvhv WHERE pickup_datetime < TIMESTAMP '2023-01-03 00:00:00'";
    let plan = t.ok(&["query", sql, "--all-rows"]);
    let pruned = plan
        .split("row_groups_pruned_statistics=")
        .nth(1)
        .unwrap_or_else(|| panic!("no row group metrics in:\n{plan}"));
    // "N total → M matched": most row groups must be skipped.
    let total: u64 = pruned
        .split(" total")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let matched: u64 = pruned
        .split("→ ")
        .nth(1)
        .unwrap()
        .split(" matched")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        total >= 2 && matched < total,
        "row groups: {total} total, {matched} matched\n{plan}"
    );
}

fn partitioned_tables_write_a_file_per_partition_and_filters_skip_the_others(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let data = t.path("data");
    t.ok(&["demo", "write", "--rows", "20000", "--out", s(&data)]);
    t.ok(&[
        "table",
        "create",
        "trips",
        "--search-uri",
        s(&data.join("taxi_fhvhv")),
        "--partitioned-by",
        "day(pickup_datetime)",
    ]);
    let info = t.json(&["table", "get", "trips"]);
    assert_eq!(info["partitioning"], json!("day(pickup_datetime)"));
    assert!(
        info["data_files"].as_u64().unwrap() >= 31,
        "one file per day: {info}"
    );
    assert_eq!(info["rows"], json!(20000));
    let sql = "SELECT COUNT(*) FROM trips WHERE pickup_datetime >= TIMESTAMP '2023-01-10 00:00:00' \
               AND pickup_datetime < TIMESTAMP '2023-01-11 00:00:00'";
    let plan = t.ok(&["query", &format!("EXPLAIN {sql}"), "--all-rows"]);
    assert!(
        plan.contains("file_groups={1 group: [["),
        "one day's file is scanned:\n{plan}"
    );
    assert!(
        !plan.contains(".parquet, "),
        "only one file in the group:\n{plan}"
    );
    let n = t.scalar(sql, "main").as_i64().unwrap();
    assert!(n > 0 && n < 20000);
    // Appends keep the table's partitioning (the same files again, on purpose).
    t.ok(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        s(&data.join("taxi_fhvhv")),
        "--import-duplicate-files",
    ]);
    assert_eq!(t.scalar(sql, "main").as_i64().unwrap(), 2 * n);
    let err = t.fails(&[
        "table",
        "create",
        "bad",
        "--search-uri",
        s(&data.join("taxi_fhvhv")),
        "--partitioned-by",
        "day(nope)",
    ]);
    assert!(err.contains("no column 'nope'"), "{err}");
}

fn a_replace_with_a_new_partitioning_repartitions_the_table(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let csv = t.csv("a.csv", "d,v\n2023-01-01,1\n2023-01-02,2\n");
    t.ok(&["table", "create", "events", "--search-uri", s(&csv)]);
    assert_eq!(
        t.json(&["table", "get", "events"])["partitioning"],
        json!(null)
    );
    t.ok(&[
        "table",
        "create",
        "events",
        "--search-uri",
        s(&csv),
        "--replace",
        "--partitioned-by",
        "d",
    ]);
    let info = t.json(&["table", "get", "events"]);
    assert_eq!(info["partitioning"], json!("d"), "{info}");
    assert_eq!(info["rows"], json!(2));
    // Replacing again without saying how keeps the partitioning it has.
    t.ok(&[
        "table",
        "create",
        "events",
        "--search-uri",
        s(&csv),
        "--replace",
    ]);
    assert_eq!(
        t.json(&["table", "get", "events"])["partitioning"],
        json!("d")
    );
}
