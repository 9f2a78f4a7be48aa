//! `bayou demo load|write`: the synthetic taxi data set.

use std::path::Path;

use anyhow::Context as _;
use bayou_lake::WriteMode;
use serde_json::json;

use super::Ctx;
use crate::cli::OutputFormat;
use crate::demo_data::{BATCH_ROWS, taxi_batch, taxi_schema, zones_batch};
use crate::output::emit_message;
use crate::progress::Progress;

/// Rows per Parquet file written by `demo write`.
const FILE_ROWS: usize = 2 * 1024 * 1024;

pub(crate) async fn load(ctx: &Ctx, rows: usize, branch: Option<&str>) -> anyhow::Result<()> {
    if !ctx.is_embedded() {
        return load_remote(ctx, rows, branch).await;
    }
    let branch = ctx.reference(branch).await?;
    let trips = ctx.key("taxi_fhvhv")?;
    let zones = ctx.key("taxi_zones")?;
    let progress = Progress::bytes("generating taxi_fhvhv", ctx.format == OutputFormat::Table);
    let mut write = ctx
        .lake()?
        .begin_write(
            &branch,
            &trips,
            WriteMode::Replace,
            &taxi_schema(),
            "demo data",
            None,
        )
        .await?;
    // Generate on a blocking thread while the async side encodes and uploads.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let producer = tokio::task::spawn_blocking(move || {
        let mut start = 0;
        while start < rows {
            let len = BATCH_ROWS.min(rows - start);
            if tx.blocking_send(taxi_batch(start, len, rows)).is_err() {
                return;
            }
            start += len;
        }
    });
    let mut done = 0u64;
    let mut failed = None;
    while let Some(batch) = rx.recv().await {
        if let Err(e) = write.write(&batch).await {
            failed = Some(e);
            break;
        }
        done += batch.num_rows() as u64;
        progress.update(done, rows as u64);
    }
    drop(rx);
    producer.await.context("demo data generator")?;
    progress.finish();
    if let Some(e) = failed {
        return Err(e.into());
    }
    let trips_out = write
        .commit(&format!("demo: load {rows} taxi_fhvhv rows"))
        .await?;
    let zones_batch = zones_batch();
    let mut write = ctx
        .lake()?
        .begin_write(
            &branch,
            &zones,
            WriteMode::Replace,
            &zones_batch.schema(),
            "demo data",
            None,
        )
        .await?;
    write.write(&zones_batch).await?;
    let zones_out = write.commit("demo: load taxi_zones").await?;
    emit_message(
        ctx.format,
        &json!({"branch": branch, "tables": [trips_out, zones_out]}),
        &format!(
            "loaded {} rows into {trips} and {} rows into {zones} on {branch} (commit {})",
            trips_out.rows_written,
            zones_out.rows_written,
            zones_out.commit.short()
        ),
    )
}

/// Writes the demo tables as plain Parquet files (for imports and for benchmark peers).
pub(crate) async fn write_files(
    rows: usize,
    out: &Path,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let out = out.to_path_buf();
    let files = write_parquet(rows, &out).await?;
    emit_message(
        format,
        &json!({"rows": rows, "files": files, "path": out}),
        &format!(
            "wrote {rows} taxi rows and 265 zones in {files} Parquet file(s) under {}",
            out.display()
        ),
    )
}

/// Writes the demo tables as Parquet files under `dir` (`taxi_fhvhv/part-*.parquet` and
/// `taxi_zones.parquet`); returns how many files.
async fn write_parquet(rows: usize, dir: &Path) -> anyhow::Result<usize> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let trips_dir = dir.join("taxi_fhvhv");
        std::fs::create_dir_all(&trips_dir)
            .with_context(|| format!("cannot create {}", trips_dir.display()))?;
        let mut files = 0;
        let mut start = 0;
        // No rows is one empty file, so that the table is made all the same.
        while start < rows || files == 0 {
            let end = (start + FILE_ROWS).min(rows);
            let path = trips_dir.join(format!("part-{files:05}.parquet"));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, taxi_schema(), None)?;
            let mut s = start;
            while s < end {
                let len = BATCH_ROWS.min(end - s);
                writer.write(&taxi_batch(s, len, rows))?;
                s += len;
            }
            writer.close()?;
            files += 1;
            start = end;
        }
        let zones = zones_batch();
        let path = dir.join("taxi_zones.parquet");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, zones.schema(), None)?;
        writer.write(&zones)?;
        writer.close()?;
        Ok(files + 1)
    })
    .await
    .context("demo data writer")?
}

/// `demo load` on a server: the data is written as Parquet here, then sent as two tables.
async fn load_remote(ctx: &Ctx, rows: usize, branch: Option<&str>) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("bayou-demo-").tempdir()?;
    write_parquet(rows, dir.path()).await?;
    let mut written = Vec::new();
    for (table, path) in [
        ("taxi_fhvhv", dir.path().join("taxi_fhvhv")),
        ("taxi_zones", dir.path().join("taxi_zones.parquet")),
    ] {
        let request = bayou_service::TableRequest {
            table: table.to_string(),
            branch: branch.map(str::to_string),
            partitioned_by: None,
            replace: true,
        };
        let files = bayou_service::FileSource::Uri(path.display().to_string());
        let bar = super::table::write_bar(ctx, &files);
        let outcome = (ctx.service)
            .create_table(&request, &files, &|done, total| bar.update(done, total))
            .await;
        bar.finish();
        written.push(outcome?);
    }
    let (trips, zones) = (&written[0], &written[1]);
    emit_message(
        ctx.format,
        &json!({"branch": zones.branch, "tables": written}),
        &format!(
            "loaded {} rows into {} and {} rows into {} on {} (commit {})",
            trips.rows_written,
            trips.table,
            zones.rows_written,
            zones.table,
            zones.branch,
            zones.commit.short()
        ),
    )
}
