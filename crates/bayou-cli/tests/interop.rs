//! Other Iceberg readers (pyiceberg, DuckDB) open a bayou table at a ref and see exactly the rows
//! `bayou query` returns. Needs the Python packages that `dev/test.sh` installs; the interpreter
//! is `BAYOU_TEST_PYTHON` (default `python3`).

mod common;

use common::{TestLake, s};
use serde_json::Value;

fn external_rows(reader: &str, metadata_location: &str) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/read_table.py");
    let out = common::python_ok(&[script, reader, metadata_location]);
    let rows: Vec<Value> = serde_json::from_str(&out).expect("JSON rows");
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

#[test]
fn a_table_another_engine_wrote_is_registered_without_copying_and_reads_the_same() {
    let t = TestLake::new();
    let warehouse = t.path("peer-warehouse");
    std::fs::create_dir_all(&warehouse).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/write_table.py");
    let location = common::python_ok(&[script, s(&warehouse)])
        .trim()
        .to_string();
    let files_before = count_files(&warehouse);
    t.ok(&["namespace", "create", "raw"]);
    t.ok(&[
        "table",
        "create-external",
        "raw.events",
        "--metadata-json-uri",
        &location,
    ]);
    let sum = t.json(&[
        "query",
        "SELECT COUNT(*) AS n, SUM(amount) AS total FROM raw.events",
    ]);
    assert_eq!(sum[0]["n"], Value::from(4));
    assert_eq!(sum[0]["total"], Value::from(10.0));
    assert_eq!(
        count_files(&warehouse),
        files_before,
        "nothing written next to the table"
    );
    let lake_data = t.lake().join("data");
    assert!(
        !lake_data.join("raw").join("events").exists(),
        "nothing copied into the lake"
    );
    // Registering over it needs --overwrite; a file that is no metadata is refused.
    let err = t.fails(&[
        "table",
        "create-external",
        "raw.events",
        "--metadata-json-uri",
        &location,
    ]);
    assert!(err.contains("raw.events"), "{err}");
    t.ok(&[
        "table",
        "create-external",
        "raw.events",
        "--metadata-json-uri",
        &location,
        "--overwrite",
    ]);
    let bogus = t.csv("bogus.metadata.json", "{\"not\": \"iceberg\"}");
    let err = t.fails(&[
        "table",
        "create-external",
        "raw.other",
        "--metadata-json-uri",
        s(&bogus),
    ]);
    assert!(err.contains("not an Iceberg table metadata file"), "{err}");
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => count_files(&e.path()),
                    _ => 1,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn parquet_files_bayou_did_not_write_become_a_table_that_iceberg_readers_read_in_place() {
    let t = TestLake::new();
    let files = t.path("outside");
    t.ok(&["demo", "write", "--rows", "2000", "--out", s(&files)]);
    let pattern = files.join("taxi_fhvhv").join("*.parquet");
    t.ok(&[
        "table",
        "create-external",
        "trips",
        "--search-pattern",
        s(&pattern),
    ]);
    let info = t.json(&["table", "get", "trips"]);
    assert_eq!(info["rows"], Value::from(2000));
    let location = info["metadata_location"].as_str().unwrap();
    let ours = bayou_rows(&t, "trips", "main");
    assert_eq!(ours.len(), 2000);
    // Filters apply over the registered files (their stats matched to columns by name).
    let n = t.scalar("SELECT COUNT(*) FROM trips WHERE PULocationID = 1", "main");
    assert!(n.as_i64().unwrap() < 2000, "{n}");
    // pyiceberg follows the table's name mapping into files that carry no field ids.
    assert_eq!(external_rows("pyiceberg", location), ours);
    // The data stayed where it was: the lake holds metadata only.
    let copied = glob_count(&t.lake(), "parquet");
    assert_eq!(copied, 0, "no data file was copied into the lake");
    let err = t.fails(&[
        "table",
        "create-external",
        "trips",
        "--search-pattern",
        s(&pattern),
    ]);
    assert!(err.contains("trips"), "{err}");
    // Files of an Iceberg table (with field ids) are registered by its metadata, not by pattern.
    t.ok(&["table", "create", "own", "--search-uri", s(&pattern)]);
    let own_files = format!(
        "{}/own-*/data/*.parquet",
        t.lake().join("tables").join("bayou").display()
    );
    let err = t.fails(&[
        "table",
        "create-external",
        "t3",
        "--search-pattern",
        &own_files,
    ]);
    assert!(
        err.contains("carry Iceberg field ids") && err.contains("--metadata-json-uri"),
        "{err}"
    );
    let err = t.fails(&[
        "table",
        "create-external",
        "t2",
        "--search-pattern",
        s(&t.path("nothing/*.parquet")),
    ]);
    assert!(err.contains("matches no .parquet file"), "{err}");
}

fn glob_count(dir: &std::path::Path, ext: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        glob_count(&p, ext)
                    } else {
                        usize::from(p.extension().is_some_and(|x| x == ext))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
