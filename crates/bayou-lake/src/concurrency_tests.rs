//! A replace and an append racing on one table, in both orders: whichever commits second
//! either re-bases (an append on top of the replaced table) or fails with a conflict (a replace
//! planned before the append landed); no commit is ever silently lost.

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use bayou_types::TableKey;

use crate::{Lake, LakeLocation, LakeSettings, WriteMode};

async fn lake(dir: &std::path::Path) -> Lake {
    let location = LakeLocation::parse(dir.to_str().unwrap()).unwrap();
    let settings = LakeSettings {
        author: "tester".into(),
        catalog: None,
        catalogs_dir: dir.join("catalogs"),
    };
    Lake::open(&location, &settings).await.unwrap()
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]))
}

fn batch(values: &[i64]) -> RecordBatch {
    RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
}

async fn write(lake: &Lake, key: &TableKey, mode: WriteMode, values: &[i64]) -> crate::TableWrite {
    let mut w = lake
        .begin_write("main", key, mode, &schema(), "test", None)
        .await
        .unwrap();
    w.write(&batch(values)).await.unwrap();
    w
}

/// A lake under `dir` with table `bayou.t` of rows 1 and 2 on main.
async fn with_table(dir: &std::path::Path) -> (Lake, TableKey) {
    let lake = lake(dir).await;
    let key = TableKey::new("bayou", "t").unwrap();
    write(&lake, &key, WriteMode::Create, &[1, 2])
        .await
        .commit("create")
        .await
        .unwrap();
    (lake, key)
}

async fn rows(lake: &Lake, key: &TableKey) -> u64 {
    lake.table_at("main", key).await.unwrap().row_count()
}

#[tokio::test]
async fn a_replace_planned_before_an_append_landed_conflicts_and_the_append_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, key) = with_table(dir.path()).await;
    let replace = write(&lake, &key, WriteMode::Replace, &[9]).await;
    write(&lake, &key, WriteMode::Append, &[3])
        .await
        .commit("append")
        .await
        .unwrap();
    let err = replace.commit("replace").await.unwrap_err();
    assert!(
        err.to_string().contains("changed since this write started"),
        "{err}"
    );
    assert_eq!(
        rows(&lake, &key).await,
        3,
        "the append is there, the replace is not"
    );
}

#[tokio::test]
async fn an_append_that_lost_to_a_replace_lands_on_top_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, key) = with_table(dir.path()).await;
    let append = write(&lake, &key, WriteMode::Append, &[3]).await;
    write(&lake, &key, WriteMode::Replace, &[9])
        .await
        .commit("replace")
        .await
        .unwrap();
    append.commit("append").await.unwrap();
    // As if the replace came first, then the append: both commits count.
    assert_eq!(rows(&lake, &key).await, 2);
    let history = lake
        .catalog()
        .log(&lake.resolve("main").await.unwrap().commit, 10, None)
        .await
        .unwrap();
    let messages: Vec<&str> = history.iter().map(|c| c.message.as_str()).collect();
    assert_eq!(&messages[..3], ["append", "replace", "create"]);
}

#[tokio::test]
async fn two_replaces_planned_on_one_version_land_one_and_refuse_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path()).await;
    let key = TableKey::new("bayou", "t").unwrap();
    // Neither exists yet: the second create-or-replace finds the first's table.
    let first = write(&lake, &key, WriteMode::Replace, &[1]).await;
    let second = write(&lake, &key, WriteMode::Replace, &[2, 3]).await;
    first.commit("first").await.unwrap();
    assert!(second.commit("second").await.is_err());
    assert_eq!(rows(&lake, &key).await, 1);
}
