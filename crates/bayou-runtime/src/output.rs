//! A model's output as the run holds it ([`Output`]): batches in memory or mapped from the
//! exchange, made visible to later models as tables of the run's DataFusion session.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

use crate::{Error, NodeError, Preview, Result, exchange};

/// A model's output table: in memory, or mapped from its exchange file (a Python model's
/// output, or a SQL model's that Python functions read).
pub(crate) struct Output {
    pub(crate) schema: SchemaRef,
    pub(crate) batches: Vec<RecordBatch>,
    /// The Arrow IPC file the batches are mapped from.
    pub(crate) file: Option<PathBuf>,
}

impl Output {
    /// Puts its first (or last) rows and its column names into `report`, as `which` asks.
    pub(crate) fn preview_into(&self, report: &mut crate::NodeReport, which: Preview) {
        if which == Preview::Off {
            return;
        }
        report.preview = preview(self, 5, which);
        report.columns = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
    }

    pub(crate) fn rows(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }

    /// Its size: the file's for a mapped table (every mapped buffer reports the whole mapping
    /// as its capacity), else the bytes its arrays hold (not their buffers' spare capacity).
    pub(crate) fn bytes(&self) -> u64 {
        if let Some(len) = self
            .file
            .as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
        {
            return len;
        }
        let held = |c: &arrow::array::ArrayRef| c.to_data().get_slice_memory_size().unwrap_or(0);
        self.batches
            .iter()
            .flat_map(|b| b.columns())
            .map(|c| held(c) as u64)
            .sum()
    }
}

/// Runs `sql` straight into an exchange file for model `name`, one batch in memory at a time,
/// and maps the result: the only copy of the table is the file its readers share. A table
/// that does not fit in shared memory is written again on disk.
pub(crate) async fn sql_to_exchange(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    exchange: &exchange::Exchange,
    name: &str,
) -> Result<Output, NodeError> {
    let path = sql_to_file(ctx, sql, params, exchange, name).await?;
    let (schema, batches) = exchange::map_ipc(&path).map_err(NodeError::exchange)?;
    Ok(Output {
        schema,
        batches,
        file: Some(path),
    })
}

/// Runs `sql` straight into the exchange file `<name>/out.arrow`, one batch in memory at a
/// time; written again on disk if shared memory fills up. Returns the file.
pub(crate) async fn sql_to_file(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    exchange: &exchange::Exchange,
    name: &str,
) -> Result<PathBuf, NodeError> {
    let first = exchange.dir(name, 0).map_err(NodeError::exchange)?;
    let dir = match stream_sql(ctx, sql, params, &first).await {
        Err(StreamError::Write(e)) if exchange::is_full(&e) => {
            let disk = exchange.disk_dir(name).map_err(NodeError::exchange)?;
            stream_sql(ctx, sql, params, &disk).await?;
            disk
        }
        other => {
            other?;
            first
        }
    };
    Ok(dir.join("out.arrow"))
}

pub(crate) enum StreamError {
    Query(String),
    Write(Error),
}

impl From<StreamError> for NodeError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Query(e) => NodeError::Query(e),
            StreamError::Write(e) => {
                NodeError::Exchange(format!("handing the output to Python: {e}"))
            }
        }
    }
}

/// A model's `sql` planned in `ctx`, its parameters filled in and its columns in the plain
/// types the engine reads as views (what Python and the Iceberg writer expect).
async fn planned(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> datafusion::error::Result<datafusion::prelude::DataFrame> {
    ctx.sql(sql)
        .await?
        .with_param_values(params.clone())
        .and_then(bayou_sql::plain_types)
}

pub(crate) async fn stream_sql(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    dir: &Path,
) -> Result<(), StreamError> {
    let q = |e: datafusion::error::DataFusionError| StreamError::Query(e.to_string());
    let df = planned(ctx, sql, params).await.map_err(q)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await.map_err(q)?;
    let mut writer =
        exchange::IpcWriter::create(&dir.join("out.arrow"), &schema).map_err(StreamError::Write)?;
    while let Some(batch) = stream.try_next().await.map_err(q)? {
        writer.write(&batch).map_err(StreamError::Write)?;
    }
    writer.finish().map_err(StreamError::Write)
}

/// Makes the lake table `namespace.name`, as `ctx` sees it, the output of model `name`.
pub(crate) async fn stand_in(
    ctx: &SessionContext,
    source: &SessionContext,
    namespace: &str,
    name: &str,
) -> Result<()> {
    let reference = datafusion::sql::TableReference::partial(namespace, name);
    let provider = source
        .table_provider(reference)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    ctx.register_table(name, provider)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(())
}

/// The schema of model `name`'s output as the run holds it: its own output, or the lake table
/// standing in for it.
pub(crate) async fn output_schema(
    ctx: &SessionContext,
    outputs: &HashMap<String, Arc<Output>>,
    name: &str,
) -> Option<SchemaRef> {
    match outputs.get(name) {
        Some(o) => Some(o.schema.clone()),
        None => ctx.table_provider(name).await.ok().map(|t| t.schema()),
    }
}

/// Makes a model's output visible to the models after it, as a table named after the model
/// (dealt out to every core, with the column bounds the planner sizes joins by).
pub(crate) fn publish_output(
    ctx: &SessionContext,
    outputs: &mut HashMap<String, Arc<Output>>,
    name: &str,
    output: Output,
) -> Result<Arc<Output>> {
    let output = Arc::new(output);
    let partitions = ctx.copied_config().target_partitions();
    let table = bayou_sql::MemoryTable::new(output.schema.clone(), &output.batches, partitions);
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| Error::Internal(e.to_string()))?;
    outputs.insert(name.to_string(), output.clone());
    Ok(output)
}

pub(crate) async fn run_sql(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<Output, NodeError> {
    let df = planned(ctx, sql, params).await.map_err(NodeError::query)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches: Vec<RecordBatch> = df
        .execute_stream()
        .await
        .map_err(NodeError::query)?
        .try_collect()
        .await
        .map_err(NodeError::query)?;
    Ok(Output {
        schema,
        batches,
        file: None,
    })
}

/// The first (or, with [`Preview::Tail`], the last) `n` rows of an output as JSON objects.
pub(crate) fn preview(output: &Output, n: usize, which: Preview) -> Vec<serde_json::Value> {
    let skip = match which {
        Preview::Tail => (output.rows() as usize).saturating_sub(n),
        _ => 0,
    };
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(Vec::new());
    let (mut skip, mut left) = (skip, n);
    for b in &output.batches {
        if left == 0 {
            break;
        }
        if skip >= b.num_rows() {
            skip -= b.num_rows();
            continue;
        }
        let take = left.min(b.num_rows() - skip);
        if writer.write(&b.slice(skip, take)).is_err() {
            return vec![];
        }
        skip = 0;
        left -= take;
    }
    if writer.finish().is_err() {
        return vec![];
    }
    serde_json::from_slice(&writer.into_inner()).unwrap_or_default()
}
