//! The engine over a real lake: strings read as views inside, plain types out, and pruning by
//! file statistics that never fails a query.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use bayou_lake::{Lake, LakeLocation, LakeSettings, WriteMode};
use bayou_sql::QueryEngine;
use bayou_types::TableKey;

/// Table `t` of two data files: ("apple", 1), ("banana", 2) and ("cherry", 3), ("blueberry", 4).
async fn two_files(dir: &std::path::Path) -> Lake {
    let location = LakeLocation::parse(dir.to_str().unwrap()).unwrap();
    let settings = LakeSettings {
        author: "tester".into(),
        catalog: None,
        catalogs_dir: dir.join("catalogs"),
    };
    let lake = Lake::open(&location, &settings).await.unwrap();
    let key = TableKey::new("bayou", "t").unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ]));
    let files = [
        [("apple", 1), ("banana", 2)],
        [("cherry", 3), ("blueberry", 4)],
    ];
    for (i, rows) in files.iter().enumerate() {
        let mode = if i == 0 {
            WriteMode::Create
        } else {
            WriteMode::Append
        };
        let mut w = lake
            .begin_write("main", &key, mode, &schema, "test", None)
            .await
            .unwrap();
        let names = StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let ns = Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>());
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(names), Arc::new(ns)]).unwrap();
        w.write(&batch).await.unwrap();
        w.commit("write").await.unwrap();
    }
    lake
}

async fn names(engine: &QueryEngine, sql: &str) -> (Vec<String>, DataType, usize) {
    let result = engine.query("main", sql).await.unwrap();
    let scanned = result
        .scans
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.files_scanned)
        .sum();
    let ty = result.schema.field(0).data_type().clone();
    let mut out = vec![];
    for batch in result.collect().await.unwrap() {
        assert_eq!(batch.schema().field(0).data_type(), &ty);
        let column = batch.column(0);
        let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
        out.extend((0..strings.len()).map(|i| strings.value(i).to_string()));
    }
    out.sort();
    (out, ty, scanned)
}

#[tokio::test]
async fn strings_come_out_plain_whatever_the_engine_reads_them_as() {
    let dir = tempfile::tempdir().unwrap();
    let engine = QueryEngine::new(two_files(dir.path()).await);
    let (rows, ty, _) = names(&engine, "SELECT upper(name) AS u FROM t ORDER BY u").await;
    assert_eq!(ty, DataType::Utf8);
    assert_eq!(rows, ["APPLE", "BANANA", "BLUEBERRY", "CHERRY"]);
}

#[tokio::test]
async fn a_like_prefix_filter_answers_even_where_statistics_cannot_judge_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = QueryEngine::new(two_files(dir.path()).await);
    let (rows, _, _) = names(&engine, "SELECT name FROM t WHERE name LIKE 'b%'").await;
    assert_eq!(rows, ["banana", "blueberry"]);
}

#[tokio::test]
async fn an_equality_on_a_string_prunes_files_by_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let engine = QueryEngine::new(two_files(dir.path()).await);
    // "cherry" is outside the first file's bounds [apple, banana].
    let (rows, _, scanned) = names(&engine, "SELECT name FROM t WHERE name = 'cherry'").await;
    assert_eq!(rows, ["cherry"]);
    assert_eq!(scanned, 1);
}
