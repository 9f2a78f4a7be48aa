//! Other Iceberg readers (pyiceberg, DuckDB) open a bayou table at a ref and see exactly the rows
//! `bayou query` returns. Needs the Python packages that `dev/test.sh` installs; the interpreter
//! is `BAYOU_TEST_PYTHON` (default `python3`).

mod common;

use common::{TestLake, s};
use serde_json::Value;

fn python() -> String {
    std::env::var("BAYOU_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn external_rows(reader: &str, metadata_location: &str) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/read_table.py");
    let out = std::process::Command::new(python())
        .args([script, reader, metadata_location])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{reader} could not read {metadata_location}:\n{}\n(hint: run dev/test.sh, which installs pyiceberg and duckdb)",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON rows");
    let mut rows: Vec<String> = rows.iter().map(canonical).collect();
    rows.sort();
    rows
}

/// One row as text, with floats printed the same way on both sides.
fn canonical(row: &Value) -> String {
    let cells: Vec<String> = row
        .as_array()
        .expect("row is a list")
        .iter()
        .map(|v| match v {
            Value::Number(n) if n.is_f64() => format!("{:.6}", n.as_f64().unwrap()),
            other => other.to_string(),
        })
        .collect();
    cells.join("|")
}

fn bayou_rows(t: &TestLake, table: &str, reference: &str) -> Vec<String> {
    let sql = format!(
        "SELECT hvfhs_license_num, originating_base_num, PULocationID, DOLocationID, \
         trip_miles, airport_fee, arrow_cast(pickup_datetime, 'Int64') AS p FROM {table}"
    );
    let rows = t.json(&["query", &sql, "-r", reference, "--all-rows"]);
    let mut out: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let o = r.as_object().unwrap();
            let get = |k: &str| o.get(k).cloned().unwrap_or(Value::Null);
            canonical(&Value::Array(vec![
                get("hvfhs_license_num"),
                get("originating_base_num"),
                get("PULocationID"),
                get("DOLocationID"),
                get("trip_miles"),
                get("airport_fee"),
                get("p"),
            ]))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn pyiceberg_and_duckdb_read_a_table_at_a_ref_exactly_as_bayou_does() {
    let t = TestLake::new();
    t.ok(&["demo", "load", "--rows", "3000"]);
    t.ok(&["tag", "create", "v1"]);
    t.ok(&["branch", "create", "feat"]);
    let extra = t.path("extra");
    t.ok(&["demo", "write", "--rows", "500", "--out", s(&extra)]);
    t.ok(&[
        "table",
        "import",
        "taxi_fhvhv",
        "--search-uri",
        s(&extra.join("taxi_fhvhv")),
        "-b",
        "feat",
    ]);
    // A merge of appends on both sides is the most intricate metadata bayou writes.
    t.ok(&[
        "table",
        "import",
        "taxi_fhvhv",
        "--search-uri",
        s(&extra.join("taxi_fhvhv")),
    ]);
    t.ok(&["branch", "merge", "feat"]);
    // A partitioned table: readers must see partition values in the manifests.
    t.ok(&[
        "table",
        "create",
        "by_day",
        "--search-uri",
        s(&extra.join("taxi_fhvhv")),
        "--partitioned-by",
        "day(pickup_datetime), bucket(4, PULocationID)",
    ]);
    for (table, reference) in [
        ("taxi_fhvhv", "v1"),
        ("taxi_fhvhv", "feat"),
        ("taxi_fhvhv", "main"),
        ("by_day", "main"),
    ] {
        let info = t.json(&["table", "get", table, "-r", reference]);
        let location = info["metadata_location"].as_str().unwrap();
        let ours = bayou_rows(&t, table, reference);
        assert_eq!(ours.len() as u64, info["rows"].as_u64().unwrap());
        for reader in ["pyiceberg", "duckdb"] {
            let theirs = external_rows(reader, location);
            assert_eq!(
                theirs.len(),
                ours.len(),
                "{reader} row count at {reference}"
            );
            assert!(
                theirs == ours,
                "{reader} rows differ from bayou's at {reference}"
            );
        }
    }
}
