//! Printing results: readable tables by default, JSON with `-O json`.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use crate::cli::OutputFormat;

/// An error with a chosen exit code: 1 for failures, 2 for problems in the user's input.
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Exit {
    pub(crate) fn usage(message: String) -> Self {
        Self { code: 2, message }
    }

    pub(crate) fn failed(message: String) -> Self {
        Self { code: 1, message }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Writes to stdout; a closed pipe (`bayou ... | head`) ends the command quietly.
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line each; hints from our errors stay on their own line.
pub(crate) fn render_error(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
    }
    text
}

/// A list of rows with named columns, printed as a table or as a JSON array of objects.
pub(crate) struct Listing {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Listing {
    pub(crate) fn new(headers: Vec<&'static str>) -> Self {
        Self {
            headers,
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

/// Prints `value` as JSON, or `listing` as a table.
pub(crate) fn emit<T: Serialize>(
    format: OutputFormat,
    value: &T,
    listing: Listing,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => out(&serde_json::to_string_pretty(value)?),
        OutputFormat::Table => {
            if listing.rows.is_empty() {
                return out("(none)");
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(listing.headers);
            for row in listing.rows {
                table.add_row(row);
            }
            out(&table.to_string())
        }
    }
}

/// Prints a message (table mode) or a JSON value.
pub(crate) fn emit_message<T: Serialize>(
    format: OutputFormat,
    value: &T,
    message: &str,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => out(&serde_json::to_string_pretty(value)?),
        OutputFormat::Table => out(message),
    }
}

/// Query results as a table, or as JSON rows.
pub(crate) fn emit_batches(format: OutputFormat, batches: &[RecordBatch]) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(Vec::new());
            for b in batches {
                writer.write(b)?;
            }
            writer.finish()?;
            let body = writer.into_inner();
            out(if body.is_empty() {
                "[]"
            } else {
                std::str::from_utf8(&body)?
            })
        }
        OutputFormat::Table => {
            out(&arrow::util::pretty::pretty_format_batches(batches)?.to_string())
        }
    }
}

/// `batch` with one-line text values longer than `max` characters cut to `max` (ending in `…`),
/// for showing; values of several lines (query plans, pretty JSON) and other columns as they are.
pub(crate) fn truncate_text(batch: &RecordBatch, max: usize) -> arrow::error::Result<RecordBatch> {
    use arrow::array::{Array, ArrayRef, AsArray, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let cut = |v: &str| match v.char_indices().nth(max) {
        Some((at, _)) if !v.contains('\n') => format!("{}…", &v[..at]),
        _ => v.to_string(),
    };
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let text: Option<Vec<Option<String>>> = match column.data_type() {
            DataType::Utf8 => Some(
                column
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(cut))
                    .collect(),
            ),
            DataType::LargeUtf8 => Some(
                column
                    .as_string::<i64>()
                    .iter()
                    .map(|v| v.map(cut))
                    .collect(),
            ),
            DataType::Utf8View => {
                Some(column.as_string_view().iter().map(|v| v.map(cut)).collect())
            }
            _ => None,
        };
        match text {
            Some(values) => {
                fields.push(Field::new(
                    field.name(),
                    DataType::Utf8,
                    field.is_nullable(),
                ));
                columns.push(std::sync::Arc::new(StringArray::from(values)));
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
        debug_assert_eq!(columns.last().map(|c| c.len()), Some(batch.num_rows()));
    }
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
}

/// A note for the user on stderr (stdout stays the result).
pub(crate) fn note(text: &str) -> anyhow::Result<()> {
    writeln!(std::io::stderr().lock(), "note: {text}")?;
    Ok(())
}

/// Milliseconds since the epoch as a readable UTC time.
pub(crate) fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}
