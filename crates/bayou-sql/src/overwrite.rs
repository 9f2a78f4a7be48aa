//! What an overwrite filter (OVERWRITE_PARTITIONS) does to a table's data files, judged by
//! each file's statistics as Iceberg does: files every row of which it matches are dropped,
//! files none of whose rows it matches stay untouched, and only the files in between are read
//! (one at a time, streamed) to keep their rows that it does not match.

use std::collections::HashMap;
use std::sync::Arc;

use bayou_lake::{DataFile, Lake, TableVersion};
use bayou_types::TableKey;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_optimizer::pruning::PruningPredicate;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;

use crate::provider::{FileStats, LakeTable};
use crate::{Error, Result, ScanLog};

/// A table's data files, split by an overwrite filter.
#[derive(Debug, Default)]
pub struct FileSplit {
    /// Every row matches: the overwrite drops the file.
    pub replaced: Vec<DataFile>,
    /// No row matches: the file stays as it is.
    pub untouched: Vec<DataFile>,
    /// Some rows may match: rewritten with the rows that do not.
    pub straddling: Vec<DataFile>,
}

/// Splits the data files of `version` (table `key`) by `filter` (SQL over its columns, with
/// `$name` parameters from `params`). A filter that does not plan (a column the table lacks, an
/// unknown parameter) is an error naming it.
pub async fn split_by_filter(
    lake: &Lake,
    key: &TableKey,
    version: &TableVersion,
    filter: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<FileSplit> {
    let files = lake.data_files(version).await?;
    let table = LakeTable::new(
        lake.clone(),
        key.clone(),
        version.clone(),
        ScanLog::default(),
    )
    .map_err(|e| Error::Plan(e.to_string()))?;
    let schema = datafusion::catalog::TableProvider::schema(&table);
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::new(table))
        .map_err(|e| Error::Plan(e.to_string()))?;
    let predicate = planned_filter(&ctx, filter, params).await?;
    let state = ctx.state();
    let df_schema = datafusion::common::DFSchema::try_from(schema.as_ref().clone())
        .map_err(|e| Error::Plan(e.to_string()))?;
    let not_matching = not_matching(predicate.clone(), &df_schema)?;
    let prune = |expr: Expr| -> Result<Vec<bool>> {
        let physical = state
            .create_physical_expr(expr, &df_schema)
            .map_err(|e| Error::Plan(e.to_string()))?;
        let pruning = PruningPredicate::try_new(physical, schema.clone())
            .map_err(|e| Error::Plan(e.to_string()))?;
        pruning
            .prune(&FileStats::new(&files, version, &schema))
            .map_err(|e| Error::Plan(e.to_string()))
    };
    let some_match = prune(predicate)?;
    let some_kept = prune(not_matching)?;
    let mut split = FileSplit::default();
    for ((file, matches), keeps) in files.into_iter().zip(some_match).zip(some_kept) {
        match (matches, keeps) {
            (false, _) => split.untouched.push(file),
            (true, false) => split.replaced.push(file),
            (true, true) => split.straddling.push(file),
        }
    }
    Ok(split)
}

/// The rows of `file` (of `version`) that `filter` does not match (or leaves NULL), streamed.
pub async fn rows_outside(
    lake: &Lake,
    key: &TableKey,
    version: &TableVersion,
    file: DataFile,
    filter: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<SendableRecordBatchStream> {
    let table = LakeTable::with_files(
        lake.clone(),
        key.clone(),
        version.clone(),
        ScanLog::default(),
        vec![file],
    )
    .map_err(|e| Error::Plan(e.to_string()))?;
    let ctx = SessionContext::new();
    let store_url = lake.storage().store_url().clone();
    ctx.register_object_store(&store_url, lake.storage().object_store().clone());
    ctx.register_table("t", Arc::new(table))
        .map_err(|e| Error::Plan(e.to_string()))?;
    let sql = format!("SELECT * FROM t WHERE NOT COALESCE(({filter}), FALSE)");
    let df = ctx
        .sql(&sql)
        .await
        .and_then(|df| df.with_param_values(params.clone()))
        .map_err(|e| Error::Plan(e.to_string()))?;
    df.execute_stream()
        .await
        .map_err(|e| Error::Execution(e.to_string()))
}

/// The rows an overwrite keeps: those `predicate` does not match, or leaves NULL, in a form
/// file statistics can judge (negation pushed down to the comparisons). A predicate made of
/// comparisons and logic alone is NULL only where a column it reads is: then that is what is
/// asked of the statistics; anything else asks whether the whole predicate may be NULL, which
/// statistics cannot rule out (such files are read, never wrongly dropped).
fn not_matching(predicate: Expr, schema: &datafusion::common::DFSchema) -> Result<Expr> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::optimizer::simplify_expressions::{ExprSimplifier, SimplifyContext};
    let context = SimplifyContext::default().with_schema(Arc::new(schema.clone()));
    let negated = ExprSimplifier::new(context)
        .simplify(datafusion::logical_expr::not(predicate.clone()))
        .map_err(|e| Error::Plan(e.to_string()))?;
    let mut plain = true;
    let mut columns = Vec::new();
    predicate
        .apply(|e| {
            match e {
                Expr::Column(c) => columns.push(c.clone()),
                Expr::Literal(..)
                | Expr::BinaryExpr(_)
                | Expr::Not(_)
                | Expr::Between(_)
                | Expr::InList(_)
                | Expr::IsNull(_)
                | Expr::IsNotNull(_) => {}
                _ => plain = false,
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| Error::Plan(e.to_string()))?;
    let nulls = match plain {
        true => columns
            .into_iter()
            .map(|c| Expr::Column(c).is_null())
            .reduce(Expr::or),
        false => Some(predicate.is_null()),
    };
    Ok(match nulls {
        Some(nulls) => negated.or(nulls),
        None => negated,
    })
}

/// `filter` planned over table `t` of `ctx`, parameters filled in.
async fn planned_filter(
    ctx: &SessionContext,
    filter: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<Expr> {
    let df = ctx
        .sql(&format!("SELECT * FROM t WHERE {filter}"))
        .await
        .and_then(|df| df.with_param_values(params.clone()))
        .map_err(|e| Error::Plan(e.to_string()))?;
    let mut plan = df.logical_plan();
    loop {
        match plan {
            LogicalPlan::Filter(f) => return unqualified(f.predicate.clone()),
            other => match other.inputs().first() {
                Some(input) => plan = input,
                None => return Err(Error::Plan(format!("'{filter}' filters nothing"))),
            },
        }
    }
}

/// `expr` with its columns named without their table, as the file statistics name them.
fn unqualified(expr: Expr) -> Result<Expr> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    expr.transform(|e| match e {
        Expr::Column(c) => Ok(Transformed::yes(Expr::Column(
            datafusion::common::Column::new_unqualified(c.name),
        ))),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
    .map_err(|e| Error::Plan(e.to_string()))
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use bayou_lake::{LakeLocation, LakeSettings, WriteMode};
    use futures::TryStreamExt as _;

    use super::*;

    /// A table of four files (one per write): v in {1, 2}, {5, 9}, {3, 7} and {6, NULL}.
    async fn four_files(dir: &std::path::Path) -> (Lake, TableKey, TableVersion) {
        let location = LakeLocation::parse(dir.to_str().unwrap()).unwrap();
        let settings = LakeSettings {
            author: "tester".into(),
            catalog: None,
            catalogs_dir: dir.join("catalogs"),
        };
        let lake = Lake::open(&location, &settings).await.unwrap();
        let key = TableKey::new("bayou", "t").unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
        let files = [
            [Some(1), Some(2)],
            [Some(5), Some(9)],
            [Some(3), Some(7)],
            [Some(6), None],
        ];
        for (i, values) in files.iter().enumerate() {
            let mode = if i == 0 {
                WriteMode::Create
            } else {
                WriteMode::Append
            };
            let mut w = lake
                .begin_write("main", &key, mode, &schema, "test", None)
                .await
                .unwrap();
            let column = Arc::new(Int64Array::from(values.to_vec()));
            w.write(&RecordBatch::try_new(schema.clone(), vec![column]).unwrap())
                .await
                .unwrap();
            w.commit("write").await.unwrap();
        }
        let version = lake.table_at("main", &key).await.unwrap();
        (lake, key, version)
    }

    #[tokio::test]
    async fn files_are_dropped_kept_or_rewritten_by_what_their_statistics_say() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, key, version) = four_files(dir.path()).await;
        let params = HashMap::from([("min".to_string(), ScalarValue::Int64(Some(4)))]);
        let split = split_by_filter(&lake, &key, &version, "v > $min", &params)
            .await
            .unwrap();
        // {5, 9} goes whole and {1, 2} stays whole; {3, 7} and {6, NULL} (a NULL row is kept)
        // are the only files read, for the rows the filter leaves.
        let sizes = (
            split.replaced.len(),
            split.untouched.len(),
            split.straddling.len(),
        );
        assert_eq!(sizes, (1, 1, 2));
        let mut kept = Vec::new();
        for file in split.straddling {
            let rows: Vec<RecordBatch> =
                rows_outside(&lake, &key, &version, file, "v > $min", &params)
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
            for b in rows {
                let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                kept.extend(column.iter());
            }
        }
        kept.sort();
        assert_eq!(kept, [None, Some(3)]);
    }

    #[tokio::test]
    async fn a_filter_over_a_column_the_table_lacks_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, key, version) = four_files(dir.path()).await;
        let err = split_by_filter(&lake, &key, &version, "nope = 1", &HashMap::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
