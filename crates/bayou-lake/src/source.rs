//! Input files for `table create` and `table import`: a file, a directory or a glob of Parquet
//! or CSV files, read as Arrow batches.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
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

/// The files named by one `--search-uri`, all of one format, read as `schema`.
#[derive(Debug, Clone)]
pub struct SourceFiles {
    pub uri: String,
    pub format: FileFormat,
    pub files: Vec<PathBuf>,
    /// Where each file came from: its path, or its `s3://` URI when it was fetched.
    pub origins: Vec<String>,
    /// Each file's own schema, in the order of `files` (CSV files are parsed with it).
    file_schemas: Vec<SchemaRef>,
    /// Total size in bytes, for progress.
    pub total_bytes: u64,
    /// The columns written: every file's batches are cast to these by name.
    pub schema: SchemaRef,
    /// Files left out because they could not be read (`--continue-on-error`), with why.
    pub skipped: Vec<(String, String)>,
    /// What identifies each file to later imports, in the order of `files`.
    identities: Vec<String>,
}

/// A file saved at a local path but named by where it came from (a client that sent it, an
/// object store it was fetched from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFile {
    pub path: PathBuf,
    pub origin: String,
    /// The SHA-256 of its bytes (hex), when the one who saved it computed it: later imports
    /// then know the file by its name and content rather than its name and size.
    pub sha256: Option<String>,
}

/// What the files of a `--search-uri` hold, file by file, before anyone picks a schema.
#[derive(Debug, Clone)]
pub struct Survey {
    pub uri: String,
    pub format: FileFormat,
    pub files: Vec<PathBuf>,
    /// Where each file came from (see [`SourceFiles::origins`]).
    pub origins: Vec<String>,
    pub schemas: Vec<SchemaRef>,
    pub total_bytes: u64,
    pub skipped: Vec<(String, String)>,
    identities: Vec<String>,
}

/// One column across the files of a survey: the types it has, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyColumn {
    pub name: String,
    /// Each distinct type, with the first file that has it.
    pub types: Vec<(DataType, String)>,
    /// How many of the files have the column.
    pub in_files: usize,
}

impl Survey {
    /// Lists the files `uri` names (a path, directory or glob) and reads each one's schema. A
    /// file that cannot be read fails the survey, or with `skip_bad` is left out and reported.
    pub fn of(uri: &str, skip_bad: bool) -> Result<Self> {
        let (format, candidates) = list_files(uri)?;
        let named = candidates
            .into_iter()
            .map(|f| {
                let (path, origin) = with_origin(f);
                NamedFile {
                    path,
                    origin,
                    sha256: None,
                }
            })
            .collect();
        Self::of_files(uri, format, named, skip_bad)
    }

    /// Like [`Survey::of`] for `s3://bucket/prefix`, `.../dir/` or `.../*.parquet` too: remote
    /// files are fetched into `staging` first (streamed to disk), with the object store the
    /// lake's credentials open.
    pub async fn of_uri(uri: &str, skip_bad: bool, staging: &Path) -> Result<Self> {
        if !uri.starts_with("s3://") {
            return Self::of(uri, skip_bad);
        }
        let fetched = crate::remote::fetch(uri, staging).await?;
        let named = fetched
            .into_iter()
            .map(|(path, origin)| NamedFile {
                path,
                origin,
                sha256: None,
            })
            .collect();
        Self::of_named(uri, named, skip_bad)
    }

    /// Like [`Survey::of`] for files saved at local paths but named by where they came from (a
    /// client that sent them, an object store they were fetched from): errors and later
    /// imports know each file by that name, and its format by that name's extension.
    pub fn of_named(uri: &str, named: Vec<NamedFile>, skip_bad: bool) -> Result<Self> {
        let format = named
            .first()
            .and_then(|f| FileFormat::of(Path::new(&f.origin)))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "'{uri}' names no .parquet or .csv file\n  hint: check the path or glob"
                ))
            })?;
        if let Some(other) = named
            .iter()
            .find(|f| FileFormat::of(Path::new(&f.origin)) != Some(format))
        {
            return Err(Error::InvalidInput(format!(
                "'{uri}' mixes formats: '{}' is not {format:?}",
                other.origin
            )));
        }
        Self::of_files(uri, format, named, skip_bad)
    }

    fn of_files(
        uri: &str,
        format: FileFormat,
        candidates: Vec<NamedFile>,
        skip_bad: bool,
    ) -> Result<Self> {
        let (mut origins, mut identities) = (Vec::new(), Vec::new());
        let (mut files, mut schemas, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        let mut total_bytes = 0;
        for NamedFile {
            path: f,
            origin,
            sha256,
        } in candidates
        {
            let read = std::fs::metadata(&f)
                .map_err(|e| Error::io(f.display(), e))
                .and_then(|m| Ok((m.len(), file_schema(format, &f)?)))
                .map_err(|e| e.naming(&origin));
            match read {
                Ok((size, schema)) => {
                    total_bytes += size;
                    identities.push(match sha256 {
                        Some(digest) => format!("{origin}:sha256:{digest}"),
                        None => identity(&origin, size),
                    });
                    files.push(f);
                    origins.push(origin);
                    schemas.push(schema);
                }
                Err(e) if skip_bad => skipped.push((origin, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        if files.is_empty() {
            return Err(Error::InvalidInput(format!(
                "no file of '{uri}' could be read: {}",
                skipped
                    .iter()
                    .map(|(f, e)| format!("{f}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        Ok(Self {
            uri: uri.to_string(),
            format,
            files,
            origins,
            schemas,
            total_bytes,
            skipped,
            identities,
        })
    }

    /// Every column of every file, in the order first seen.
    pub fn columns(&self) -> Vec<SurveyColumn> {
        let mut out: Vec<SurveyColumn> = Vec::new();
        for (file, schema) in self.origins.iter().zip(&self.schemas) {
            for f in schema.fields() {
                let at = match out.iter().position(|c| c.name == *f.name()) {
                    Some(i) => i,
                    None => {
                        out.push(SurveyColumn {
                            name: f.name().clone(),
                            types: vec![],
                            in_files: 0,
                        });
                        out.len() - 1
                    }
                };
                let column = &mut out[at];
                column.in_files += 1;
                if !column.types.iter().any(|(t, _)| t == f.data_type()) {
                    column.types.push((f.data_type().clone(), file.clone()));
                }
            }
        }
        out
    }

    /// Every file's columns in one schema (a column some files lack is there too); an error
    /// with `hint` when files disagree on a column's type.
    pub fn merged_schema(&self, hint: &str) -> Result<SchemaRef> {
        let merged =
            Schema::try_merge(self.schemas.iter().map(|s| s.as_ref().clone())).map_err(|e| {
                Error::SchemaMismatch {
                    source_name: self.uri.clone(),
                    detail: format!("the files do not agree on column types: {e}\n  hint: {hint}"),
                }
            })?;
        Ok(Arc::new(merged))
    }

    /// What identifies each file to later imports: its origin and its content's hash when it
    /// was sent with one, else its origin and size (see [`identity`]).
    pub fn identities(&self) -> &[String] {
        &self.identities
    }

    /// Keeps only the files `keep` says yes to, given each one's identity and origin.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let mut i = 0;
        while i < self.files.len() {
            if keep(&self.identities[i], &self.origins[i]) {
                i += 1;
            } else {
                let size = std::fs::metadata(&self.files[i]).map_or(0, |m| m.len());
                self.total_bytes = self.total_bytes.saturating_sub(size);
                self.files.remove(i);
                self.origins.remove(i);
                self.schemas.remove(i);
                self.identities.remove(i);
            }
        }
    }

    /// The files, to be written as `schema` (each file's columns cast to it by name).
    pub fn into_source(self, schema: SchemaRef) -> SourceFiles {
        SourceFiles {
            uri: self.uri,
            format: self.format,
            files: self.files,
            origins: self.origins,
            file_schemas: self.schemas,
            total_bytes: self.total_bytes,
            schema,
            skipped: self.skipped,
            identities: self.identities,
        }
    }
}

/// A source file as imports remember it: where it came from and its size (a file rewritten with
/// other content almost always changes size; one that did not is taken as the same).
pub(crate) fn identity(origin: &str, size: u64) -> String {
    format!("{origin}:{size}")
}

impl SourceFiles {
    /// What identifies each file to later imports.
    pub fn identities(&self) -> &[String] {
        &self.identities
    }

    /// Reads every file in order, calling `sink` with each batch and the bytes of input
    /// consumed so far. Blocking: run it on a blocking thread.
    pub fn read(&self, mut sink: impl FnMut(RecordBatch, u64) -> Result<()>) -> Result<()> {
        let mut done_bytes = 0u64;
        for ((file, file_schema), origin) in
            self.files.iter().zip(&self.file_schemas).zip(&self.origins)
        {
            let size = std::fs::metadata(file)
                .map_err(|e| Error::io(origin, e))?
                .len();
            let name = origin.clone();
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
                    let reader = arrow::csv::ReaderBuilder::new(file_schema.clone())
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

pub(crate) fn same_columns(a: &Schema, b: &Schema) -> bool {
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

/// The local files `uri` names (a path, directory or glob), each with its canonical path: what a
/// client sends to a server for [`Survey::of_named`].
pub fn local_files(uri: &str) -> Result<Vec<(PathBuf, String)>> {
    let (_, files) = list_files(uri)?;
    Ok(files.into_iter().map(with_origin).collect())
}

/// A local file and its canonical path, which names it to errors and later imports.
fn with_origin(file: PathBuf) -> (PathBuf, String) {
    let origin = file.canonicalize().unwrap_or_else(|_| file.clone());
    let origin = origin.display().to_string();
    (file, origin)
}

/// The files `uri` names and their format: one format for all.
pub(crate) fn list_files(uri: &str) -> Result<(FileFormat, Vec<PathBuf>)> {
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
    Ok((format, files))
}

fn file_schema(format: FileFormat, path: &Path) -> Result<SchemaRef> {
    match format {
        FileFormat::Parquet => parquet_schema(path),
        FileFormat::Csv => csv_schema(path),
    }
}

/// A CSV file's schema, inferred from its header and first rows.
fn csv_schema(path: &Path) -> Result<SchemaRef> {
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
    Ok(Arc::new(schema))
}
