//! A table held in memory, with the statistics the planner needs ([`MemoryTable`]).
//!
//! DataFusion's own `MemTable` reports row counts and null counts only. Without column bounds
//! the planner guesses that joining 5M trips to 265 zones yields 265 rows, and builds the next
//! join's hash table from the 5M rows instead of the zones. This table reports exact bounds of
//! its numeric and temporal columns, computed on first use, and its true size in bytes (a mapped
//! or sliced buffer reports its whole allocation as its capacity, not what the table holds).

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, Statistics, project_schema};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::functions_aggregate::min_max::{MaxAccumulator, MinAccumulator};
use datafusion::logical_expr::{Accumulator, Expr};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType, SchedulingType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

/// Rows per slice when batches are dealt out to partitions.
const SLICE_ROWS: usize = 64 * 1024;

/// Batches held in memory as a table, dealt out to partitions (zero-copy slices of at most
/// 64k rows) so a scan runs on every core.
#[derive(Debug)]
pub struct MemoryTable {
    schema: SchemaRef,
    partitions: Arc<Vec<Vec<RecordBatch>>>,
    rows: usize,
    /// Each column's statistics, computed when a scan first needs them.
    columns: Vec<OnceLock<ColumnStatistics>>,
}

impl MemoryTable {
    /// `batches` (all of `schema`) as a table scanned by `partitions` cores.
    pub fn new(schema: SchemaRef, batches: &[RecordBatch], partitions: usize) -> Self {
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        let columns = schema.fields().iter().map(|_| OnceLock::new()).collect();
        Self {
            schema,
            partitions: Arc::new(dealt(batches, partitions)),
            rows,
            columns,
        }
    }

    fn column(&self, i: usize) -> &ColumnStatistics {
        self.columns[i].get_or_init(|| column_statistics(&self.partitions, i))
    }

    /// The statistics of the columns `projection` names (all of them for `None`).
    fn statistics_of(&self, projection: Option<&Vec<usize>>) -> Statistics {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let columns: Vec<ColumnStatistics> = projection
            .unwrap_or(&all)
            .iter()
            .map(|&i| self.column(i).clone())
            .collect();
        let bytes = columns
            .iter()
            .map(|c| *c.byte_size.get_value().unwrap_or(&0))
            .sum();
        Statistics {
            num_rows: Precision::Exact(self.rows),
            total_byte_size: Precision::Exact(bytes),
            column_statistics: columns,
        }
    }
}

#[async_trait]
impl TableProvider for MemoryTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// The exact row count (column statistics are left to the scan, which computes them).
    fn statistics(&self) -> Option<Statistics> {
        let mut stats = Statistics::new_unknown(&self.schema);
        stats.num_rows = Precision::Exact(self.rows);
        Some(stats)
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = project_schema(&self.schema, projection)?;
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(self.partitions.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        )
        .with_scheduling_type(SchedulingType::Cooperative);
        Ok(Arc::new(MemoryScan {
            schema,
            partitions: self.partitions.clone(),
            projection: projection.cloned(),
            limit,
            statistics: self.statistics_of(projection),
            properties: Arc::new(properties),
        }))
    }
}

/// A scan of a [`MemoryTable`]: each partition streams its slices, projected.
#[derive(Debug)]
struct MemoryScan {
    schema: SchemaRef,
    partitions: Arc<Vec<Vec<RecordBatch>>>,
    projection: Option<Vec<usize>>,
    limit: Option<usize>,
    statistics: Statistics,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for MemoryScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let sizes: Vec<usize> = self.partitions.iter().map(Vec::len).collect();
        write!(f, "MemoryScan: partition_sizes={sizes:?}")?;
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for MemoryScan {
    fn name(&self) -> &'static str {
        "MemoryScan"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batches = self.partitions.get(partition).cloned().ok_or_else(|| {
            datafusion::error::DataFusionError::Internal(format!(
                "MemoryScan has {} partitions, asked for partition {partition}",
                self.partitions.len()
            ))
        })?;
        let stream = MemoryStream::try_new(batches, self.schema.clone(), self.projection.clone())?
            .with_fetch(self.limit);
        Ok(Box::pin(stream))
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Statistics> {
        let Some(p) = partition else {
            return Ok(self.statistics.clone());
        };
        let rows = self
            .partitions
            .get(p)
            .map_or(0, |b| b.iter().map(RecordBatch::num_rows).sum());
        Ok(Statistics {
            num_rows: Precision::Exact(rows),
            total_byte_size: Precision::Absent,
            column_statistics: Statistics::unknown_column(&self.schema),
        })
    }
}

/// `batches` dealt out to `n` partitions in slices of at most [`SLICE_ROWS`] rows.
fn dealt(batches: &[RecordBatch], n: usize) -> Vec<Vec<RecordBatch>> {
    let mut parts = vec![Vec::new(); n.max(1)];
    let slices = batches.iter().flat_map(|b| {
        (0..b.num_rows().div_ceil(SLICE_ROWS)).map(move |i| {
            let offset = i * SLICE_ROWS;
            b.slice(offset, SLICE_ROWS.min(b.num_rows() - offset))
        })
    });
    for (i, slice) in slices.enumerate() {
        let k = i % parts.len();
        parts[k].push(slice);
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    parts
}

/// Column `i`'s null count and size, and its bounds when it is numeric or temporal (strings
/// are left unbounded: their bounds cost a full comparison pass and size no join).
fn column_statistics(partitions: &[Vec<RecordBatch>], i: usize) -> ColumnStatistics {
    let arrays: Vec<&ArrayRef> = partitions.iter().flatten().map(|b| b.column(i)).collect();
    let nulls = arrays.iter().map(|a| a.null_count()).sum();
    let bytes = arrays
        .iter()
        .map(|a| a.to_data().get_slice_memory_size().unwrap_or(0))
        .sum();
    let mut stats = ColumnStatistics::new_unknown()
        .with_null_count(Precision::Exact(nulls))
        .with_byte_size(Precision::Exact(bytes));
    if let Some(first) = arrays.first().filter(|a| bounded(a.data_type()))
        && let Some((min, max)) = bounds(first.data_type(), &arrays)
    {
        stats = stats
            .with_min_value(Precision::Exact(min))
            .with_max_value(Precision::Exact(max));
    }
    stats
}

fn bounded(t: &DataType) -> bool {
    t.is_numeric() || t.is_temporal() || matches!(t, DataType::Boolean)
}

fn bounds(
    t: &DataType,
    arrays: &[&ArrayRef],
) -> Option<(
    datafusion::common::ScalarValue,
    datafusion::common::ScalarValue,
)> {
    let mut min = MinAccumulator::try_new(t).ok()?;
    let mut max = MaxAccumulator::try_new(t).ok()?;
    for a in arrays {
        let a = [Arc::clone(a)];
        min.update_batch(&a).ok()?;
        max.update_batch(&a).ok()?;
    }
    let (min, max) = (min.evaluate().ok()?, max.evaluate().ok()?);
    (!min.is_null() && !max.is_null()).then_some((min, max))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use datafusion::common::ScalarValue;
    use datafusion::prelude::SessionContext;
    use futures::TryStreamExt;

    use super::*;

    fn batch(from: i64, rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, false),
        ]));
        let n = Int64Array::from_iter((from..from + rows).map(|v| (v % 7 != 0).then_some(v)));
        let s = StringArray::from_iter_values((from..from + rows).map(|v| format!("v{v}")));
        RecordBatch::try_new(schema, vec![Arc::new(n), Arc::new(s)]).unwrap()
    }

    #[test]
    fn a_large_table_is_dealt_to_every_partition_with_no_row_lost() {
        let batches = [batch(0, 200_000), batch(200_000, 10)];
        let parts = dealt(&batches, 2);
        assert_eq!(parts.len(), 2);
        let rows = |p: &Vec<RecordBatch>| p.iter().map(|b| b.num_rows()).sum::<usize>();
        assert!(parts.iter().all(|p| rows(p) > 0));
        let mut values: Vec<String> = parts
            .iter()
            .flatten()
            .flat_map(|b| {
                let c = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
                (0..c.len())
                    .map(|i| c.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        values.sort_unstable();
        let mut expected: Vec<String> = (0..200_010).map(|v| format!("v{v}")).collect();
        expected.sort_unstable();
        assert_eq!(values, expected);
    }

    #[test]
    fn an_empty_table_is_one_empty_partition() {
        assert_eq!(dealt(&[], 4), vec![Vec::<RecordBatch>::new()]);
    }

    #[tokio::test]
    async fn a_scan_reports_exact_bounds_nulls_and_sliced_sizes() {
        let batches = [batch(1, 100_000), batch(100_001, 50_000)];
        let table = MemoryTable::new(batches[0].schema(), &batches, 2);
        let ctx = SessionContext::new();
        let scan = table.scan(&ctx.state(), None, &[], None).await.unwrap();
        let stats = scan.partition_statistics(None).unwrap();
        assert_eq!(stats.num_rows, Precision::Exact(150_000));
        let n = &stats.column_statistics[0];
        assert_eq!(n.min_value, Precision::Exact(ScalarValue::Int64(Some(1))));
        assert_eq!(
            n.max_value,
            Precision::Exact(ScalarValue::Int64(Some(150_000)))
        );
        assert_eq!(n.null_count, Precision::Exact(150_000 / 7));
        let s = &stats.column_statistics[1];
        assert_eq!(s.min_value, Precision::Absent);
        // Slices count what they hold, not the whole buffer each shares.
        let held: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        let total = *stats.total_byte_size.get_value().unwrap();
        assert!(total <= held, "{total} > {held}");
        assert!(total > held / 2, "{total} <= {held} / 2");
    }

    #[tokio::test]
    async fn a_projected_limited_scan_returns_the_columns_and_rows_asked_for() {
        let batches = [batch(0, 100_000)];
        let ctx = SessionContext::new();
        let table = MemoryTable::new(batches[0].schema(), &batches, 2);
        ctx.register_table("t", Arc::new(table)).unwrap();
        let out: Vec<RecordBatch> = ctx
            .sql("SELECT s FROM t LIMIT 5")
            .await
            .unwrap()
            .execute_stream()
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(out.iter().map(RecordBatch::num_rows).sum::<usize>(), 5);
        assert!(out.iter().all(|b| b.num_columns() == 1));
        let sums = ctx
            .sql("SELECT count(*), count(n), sum(n) FROM t")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let value = |c: usize| {
            let column = sums[0].column(c).as_any();
            column.downcast_ref::<Int64Array>().unwrap().value(0)
        };
        let nulls = (0..100_000).filter(|v| v % 7 == 0).count() as i64;
        assert_eq!((value(0), value(1)), (100_000, 100_000 - nulls));
        assert_eq!(
            value(2),
            (0..100_000i64).filter(|v| v % 7 != 0).sum::<i64>()
        );
    }

    /// Whether `plan` scans a table of `rows` rows anywhere below it.
    fn scans(plan: &Arc<dyn ExecutionPlan>, rows: usize) -> bool {
        let leaf = plan.children().is_empty();
        let own =
            leaf && plan.partition_statistics(None).unwrap().num_rows == Precision::Exact(rows);
        own || plan.children().into_iter().any(|c| scans(c, rows))
    }

    /// The build (left) side of every hash join in `plan`.
    fn build_sides(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn ExecutionPlan>>) {
        if plan.name() == "HashJoinExec" {
            out.push(Arc::clone(plan.children()[0]));
        }
        for c in plan.children() {
            build_sides(c, out);
        }
    }

    #[tokio::test]
    async fn joins_build_their_hash_tables_from_the_small_side() {
        let keys = |rows: i64| {
            let schema = Arc::new(Schema::new(vec![
                Field::new("a", DataType::Int64, false),
                Field::new("b", DataType::Int64, false),
            ]));
            let a = Int64Array::from_iter_values((0..rows).map(|v| v % 265 + 1));
            let b = Int64Array::from_iter_values((0..rows).map(|v| v % 263 + 1));
            RecordBatch::try_new(schema, vec![Arc::new(a), Arc::new(b)]).unwrap()
        };
        let (big, small) = (keys(300_000), keys(265));
        let ctx = SessionContext::new();
        let register = |name: &str, b: &RecordBatch| {
            let table = MemoryTable::new(b.schema(), std::slice::from_ref(b), 2);
            ctx.register_table(name, Arc::new(table)).unwrap();
        };
        register("trips", &big);
        register("zones", &small);
        let sql = "SELECT p.b, d.b, count(*) FROM trips t \
                   JOIN zones p ON t.a = p.a JOIN zones d ON t.b = d.a GROUP BY p.b, d.b";
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let mut sides = vec![];
        build_sides(&plan, &mut sides);
        assert_eq!(
            sides.len(),
            2,
            "{}",
            datafusion::physical_plan::displayable(plan.as_ref()).indent(true)
        );
        for side in sides {
            assert!(
                !scans(&side, 300_000),
                "a hash table is built from the large table:\n{}",
                datafusion::physical_plan::displayable(plan.as_ref()).indent(true)
            );
        }
    }
}
