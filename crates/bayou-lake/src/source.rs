//! Input files for `table create` and `table import`: a file, a directory or a glob of Parquet
//! or CSV files, read as Arrow batches.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{Error, Result};

/// Rows per batch read from input files.
const BATCH_ROWS: usize = 64 * 1024;

/// The format of an input file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Parquet,
    Csv,
}

impl FileFormat {
    fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Self::Parquet),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// The files named by one `--search-uri`, all of one format and one schema.
#[derive(Debug, Clone)]
pub struct SourceFiles {
    pub uri: String,
    pub format: FileFormat,
    pub files: Vec<PathBuf>,
    /// Total size in bytes, for progress.
    pub total_bytes: u64,
    pub schema: SchemaRef,
}

impl SourceFiles {
    /// Finds the files a path, directory or glob names and reads their schema.
    pub fn discover(uri: &str) -> Result<Self> {
        let uri_path = uri.strip_prefix("file://").unwrap_or(uri);
        if uri_path.contains("://") {
            return Err(Error::InvalidInput(format!(
                "cannot read '{uri}': only local files are supported as a source for now\n  hint: copy the files locally, or pass a path or glob"
            )));
        }
        let path = Path::new(uri_path);
        let mut files: Vec<PathBuf> = if path.is_dir() {
            let mut v = Vec::new();
            for entry in std::fs::read_dir(path).map_err(|e| Error::io(path.display(), e))? {
                let p = entry.map_err(|e| Error::io(path.display(), e))?.path();
                if p.is_file() && FileFormat::of(&p).is_some() {
                    v.push(p);
                }
            }
            v
        } else if uri_path.contains(['*', '?', '[']) {
            glob::glob(uri_path)
                .map_err(|e| Error::InvalidInput(format!("bad glob '{uri}': {e}")))?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect()
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(Error::io(
                uri,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ));
        };
        files.sort();
        if files.is_empty() {
            return Err(Error::InvalidInput(format!(
                "'{uri}' matches no .parquet or .csv file\n  hint: check the path or glob"
            )));
        }
        let format = FileFormat::of(&files[0]).ok_or_else(|| {
            Error::InvalidInput(format!(
                "cannot tell the format of '{}'\n  hint: bayou reads files ending in .parquet or .csv",
                files[0].display()
            ))
        })?;
        if let Some(other) = files.iter().find(|f| FileFormat::of(f) != Some(format)) {
            return Err(Error::InvalidInput(format!(
                "'{uri}' mixes formats: '{}' is not {format:?} like '{}'",
                other.display(),
                files[0].display()
            )));
        }
        let mut total_bytes = 0;
        for f in &files {
            total_bytes += std::fs::metadata(f)
                .map_err(|e| Error::io(f.display(), e))?
                .len();
        }
        let schema = match format {
            FileFormat::Parquet => {
                let first = parquet_schema(&files[0])?;
                for f in &files[1..] {
                    let s = parquet_schema(f)?;
                    if !same_columns(&first, &s) {
                        return Err(Error::SchemaMismatch {
                            source_name: f.display().to_string(),
                            detail: format!(
                                "its columns differ from those of '{}'",
                                files[0].display()
                            ),
                        });
                    }
                }
                first
            }
            FileFormat::Csv => csv_schema(&files)?,
        };
        Ok(Self {
            uri: uri.to_string(),
            format,
            files,
            total_bytes,
            schema,
        })
    }

    /// Reads every file in order, calling `sink` with each batch and the bytes of input
    /// consumed so far. Blocking: run it on a blocking thread.
    pub fn read(&self, mut sink: impl FnMut(RecordBatch, u64) -> Result<()>) -> Result<()> {
        let mut done_bytes = 0u64;
        for file in &self.files {
            let size = std::fs::metadata(file)
                .map_err(|e| Error::io(file.display(), e))?
                .len();
            let name = file.display().to_string();
            let open = || File::open(file).map_err(|e| Error::io(&name, e));
            let bad = |e: &dyn std::fmt::Display| Error::BadFile {
                file: name.clone(),
                detail: e.to_string(),
            };
            match self.format {
                FileFormat::Parquet => {
                    let builder =
                        ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(|e| bad(&e))?;
                    let total_rows = builder.metadata().file_metadata().num_rows().max(1) as u64;
                    let reader = builder
                        .with_batch_size(BATCH_ROWS)
                        .build()
                        .map_err(|e| bad(&e))?;
                    let mut rows = 0u64;
                    for batch in reader {
                        let batch = batch.map_err(|e| bad(&e))?;
                        rows += batch.num_rows() as u64;
                        sink(batch, done_bytes + size * rows.min(total_rows) / total_rows)?;
                    }
                }
                FileFormat::Csv => {
                    let counting = CountingReader {
                        inner: open()?,
                        read: Arc::new(std::sync::atomic::AtomicU64::new(0)),
                    };
                    let read = counting.read.clone();
                    let reader = arrow::csv::ReaderBuilder::new(self.schema.clone())
                        .with_header(true)
                        .with_batch_size(BATCH_ROWS)
                        .build(counting)
                        .map_err(|e| bad(&e))?;
                    for batch in reader {
                        let batch = batch.map_err(|e| bad(&e))?;
                        sink(
                            batch,
                            done_bytes + read.load(std::sync::atomic::Ordering::Relaxed),
                        )?;
                    }
                }
            }
            done_bytes += size;
        }
        Ok(())
    }
}

struct CountingReader {
    inner: File,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl std::io::Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}

fn parquet_schema(path: &Path) -> Result<SchemaRef> {
    let file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::BadFile {
        file: path.display().to_string(),
        detail: format!("{e} (is it a Parquet file?)"),
    })?;
    Ok(builder.schema().clone())
}

/// Infers one schema for all CSV files from their first rows.
fn csv_schema(files: &[PathBuf]) -> Result<SchemaRef> {
    let mut schemas = Vec::new();
    for path in files.iter().take(8) {
        let file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
        let (schema, _) = arrow::csv::reader::Format::default()
            .with_header(true)
            .infer_schema(file, Some(10_000))
            .map_err(|e| Error::BadFile {
                file: path.display().to_string(),
                detail: e.to_string(),
            })?;
        if schema.fields().is_empty() {
            return Err(Error::BadFile {
                file: path.display().to_string(),
                detail: "it has no header row".into(),
            });
        }
        schemas.push(schema);
    }
    let merged = Schema::try_merge(schemas).map_err(|e| Error::SchemaMismatch {
        source_name: files[0].display().to_string(),
        detail: format!("the CSV files do not agree on column types: {e}"),
    })?;
    Ok(Arc::new(merged))
}
