//! `bayou query`: SQL over the tables of a ref.

use std::fs::File;

use anyhow::Context as _;
use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use serde_json::json;

use super::Ctx;
use crate::cli::{OutputFormat, QueryArgs};
use crate::output::{emit_batches, emit_message, out};

pub(crate) async fn run(ctx: &Ctx, args: QueryArgs) -> anyhow::Result<()> {
    let sql = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read SQL file {}", path.display()))?,
        (None, None) => anyhow::bail!("give the SQL as an argument or with -f FILE"),
    };
    let reference = ctx.reference(args.reference.as_deref()).await?;
    let mut result = ctx.service.query(&reference, &sql).await?;

    if let Some(path) = &args.out {
        return write_out(ctx, path, result, &reference).await;
    }

    let limit = if args.all_rows {
        usize::MAX
    } else {
        args.max_rows
    };
    let mut kept: Vec<RecordBatch> = Vec::new();
    let mut rows = 0usize;
    let mut more = false;
    while let Some(batch) = result.batches.next().await {
        let batch = batch?;
        if rows >= limit {
            more |= batch.num_rows() > 0;
            if more {
                break;
            }
            continue;
        }
        let take = (limit - rows).min(batch.num_rows());
        more |= take < batch.num_rows();
        rows += take;
        kept.push(batch.slice(0, take));
    }
    if kept.is_empty() {
        kept.push(RecordBatch::new_empty(result.schema.clone()));
    }
    if !args.no_trunc && ctx.format == OutputFormat::Table {
        kept = kept
            .iter()
            .map(|b| crate::output::truncate_text(b, 80))
            .collect::<Result<_, _>>()?;
    }
    emit_batches(ctx.format, &kept)?;
    if more && ctx.format == OutputFormat::Table {
        out(&format!(
            "(showing the first {rows} rows; use --max-rows N or --all-rows for more)"
        ))?;
    }
    Ok(())
}

/// `--out FILE`: every row into a Parquet or CSV file written here, on the client.
async fn write_out(
    ctx: &Ctx,
    path: &std::path::Path,
    mut result: bayou_service::QueryResult,
    reference: &str,
) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut rows = 0usize;
    match ext.as_str() {
        "parquet" => {
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(file, result.schema.clone(), None)?;
            while let Some(batch) = result.batches.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                writer.write(&batch)?;
            }
            writer.close()?;
        }
        "csv" => {
            let mut writer = arrow::csv::Writer::new(file);
            while let Some(batch) = result.batches.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                writer.write(&batch)?;
            }
        }
        _ => anyhow::bail!(
            "cannot tell the format of {}\n  hint: end the file name in .parquet or .csv",
            path.display()
        ),
    }
    emit_message(
        ctx.format,
        &json!({"rows": rows, "path": path, "ref": reference, "commit": result.commit}),
        &format!("wrote {rows} rows to {}", path.display()),
    )
}
