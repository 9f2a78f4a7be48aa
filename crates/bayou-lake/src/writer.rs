//! [`DataWriter`]: turns Arrow batches into Parquet data files in a table's `data/` directory and
//! describes each as an Iceberg [`DataFile`] with the column statistics that scans prune by.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, new_null_array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use iceberg::arrow::RecordBatchPartitionSplitter;
use iceberg::spec::{
    DataContentType, DataFile, DataFileBuilder, DataFileFormat, Datum, PartitionSpecRef,
    PrimitiveType, Schema as IcebergSchema, Struct, Type,
};
use object_store::ObjectStoreExt;
use parquet::arrow::AsyncArrowWriter;
use parquet::arrow::async_writer::ParquetObjectWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::storage::LakeStorage;
use crate::{Error, Result};

/// Rows per Parquet row group: small enough that filters skip most of a sorted column.
pub(crate) const ROW_GROUP_ROWS: usize = 256 * 1024;
/// Rows per data file before a new file starts.
pub(crate) const FILE_ROWS: usize = 4 * 1024 * 1024;

struct OpenFile {
    location: String,
    writer: AsyncArrowWriter<ParquetObjectWriter>,
    rows: usize,
}

/// Splits batches by partition when the table is partitioned.
struct Partitioner {
    splitter: RecordBatchPartitionSplitter,
}

/// Writes the data of one table version.
pub(crate) struct DataWriter {
    storage: LakeStorage,
    table_location: String,
    schema: SchemaRef,
    iceberg_schema: Arc<IcebergSchema>,
    spec_id: i32,
    partitioner: Option<Partitioner>,
    /// One open file per partition (`Struct::empty()` when unpartitioned).
    open: HashMap<Struct, OpenFile>,
    done: Vec<DataFile>,
    files_started: usize,
    pub(crate) rows: u64,
}

impl DataWriter {
    pub(crate) fn new(
        storage: LakeStorage,
        table_location: &str,
        iceberg_schema: Arc<IcebergSchema>,
        spec: PartitionSpecRef,
    ) -> Result<Self> {
        let partitioner = if spec.is_unpartitioned() {
            None
        } else {
            Some(Partitioner {
                splitter: RecordBatchPartitionSplitter::try_new_with_computed_values(
                    iceberg_schema.clone(),
                    spec.clone(),
                )?,
            })
        };
        Ok(Self {
            storage,
            table_location: table_location.trim_end_matches('/').to_string(),
            schema: crate::schema::arrow_schema(&iceberg_schema)?,
            iceberg_schema,
            spec_id: spec.spec_id(),
            partitioner,
            open: HashMap::new(),
            done: Vec::new(),
            files_started: 0,
            rows: 0,
        })
    }

    /// Casts a batch to the table's schema (by column name; absent columns become null).
    pub(crate) fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for field in self.schema.fields() {
            let column = match batch.column_by_name(field.name()) {
                Some(c) if c.data_type() == field.data_type() => c.clone(),
                // A value that does not fit ("n/a" into a number) is an error, never a null.
                Some(c) => arrow::compute::cast_with_options(
                    c,
                    field.data_type(),
                    &arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    },
                )
                .map_err(|e| Error::SchemaMismatch {
                    source_name: "the data".into(),
                    detail: format!(
                        "column '{}' cannot be stored as {}: {e}",
                        field.name(),
                        field.data_type()
                    ),
                })?,
                None => new_null_array(field.data_type(), batch.num_rows()),
            };
            columns.push(column);
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = self.conform(batch)?;
        match &self.partitioner {
            None => self.write_to(Struct::empty(), None, &batch).await,
            Some(p) => {
                for (key, part) in p.splitter.split(&batch)? {
                    let path = key.to_path();
                    self.write_to(key.data().clone(), Some(path), &part).await?;
                }
                Ok(())
            }
        }
    }

    async fn write_to(
        &mut self,
        partition: Struct,
        path: Option<String>,
        batch: &RecordBatch,
    ) -> Result<()> {
        if !self.open.contains_key(&partition) {
            let file = self.open_file(path.as_deref())?;
            self.open.insert(partition.clone(), file);
        }
        let file = self.open.get_mut(&partition).expect("opened above");
        file.writer
            .write(batch)
            .await
            .map_err(|e| writing(&file.location, e))?;
        file.rows += batch.num_rows();
        self.rows += batch.num_rows() as u64;
        if file.rows >= FILE_ROWS {
            self.close(partition).await?;
        }
        Ok(())
    }

    fn open_file(&mut self, partition_path: Option<&str>) -> Result<OpenFile> {
        let dir = match partition_path {
            Some(p) => format!("{}/data/{p}", self.table_location),
            None => format!("{}/data", self.table_location),
        };
        let location = format!(
            "{dir}/{}-{:05}.parquet",
            uuid::Uuid::now_v7(),
            self.files_started
        );
        self.files_started += 1;
        let path = self.storage.path(&location)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let object = ParquetObjectWriter::new(self.storage.object_store().clone(), path);
        let writer = AsyncArrowWriter::try_new(object, self.schema.clone(), Some(props))?;
        Ok(OpenFile {
            location,
            writer,
            rows: 0,
        })
    }

    async fn close(&mut self, partition: Struct) -> Result<()> {
        let Some(file) = self.open.remove(&partition) else {
            return Ok(());
        };
        let metadata = file
            .writer
            .close()
            .await
            .map_err(|e| writing(&file.location, e))?;
        let path = self.storage.path(&file.location)?;
        let size = self
            .storage
            .object_store()
            .head(&path)
            .await
            .map_err(|e| Error::storage(&file.location, e))?
            .size;
        self.done.push(describe(
            &file.location,
            size,
            &metadata,
            &self.iceberg_schema,
            self.spec_id,
            partition,
        )?);
        Ok(())
    }

    /// Closes every open file and returns every file written.
    pub(crate) async fn finish(mut self) -> Result<Vec<DataFile>> {
        let partitions: Vec<Struct> = self.open.keys().cloned().collect();
        for p in partitions {
            self.close(p).await?;
        }
        Ok(self.done)
    }
}

/// A Parquet writer's error at `location`: the store's own (a full disk, a dead server) as a
/// storage error naming the file, so its hint says what to do. The store's error comes
/// straight, or inside the `io::Error` of the buffered writer.
fn writing(location: &str, e: parquet::errors::ParquetError) -> Error {
    use parquet::errors::ParquetError;
    let ParquetError::External(inner) = e else {
        return Error::Parquet(e);
    };
    let inner = match inner.downcast::<std::io::Error>() {
        Ok(io) => match io.get_ref().is_some_and(|e| e.is::<object_store::Error>()) {
            true => io
                .into_inner()
                .unwrap_or_else(|| Box::new(std::io::Error::other("?"))),
            false => io,
        },
        Err(other) => other,
    };
    match inner.downcast::<object_store::Error>() {
        Ok(store) => Error::storage(location, *store),
        Err(other) => Error::Parquet(ParquetError::External(other)),
    }
}

/// Builds the Iceberg description of a Parquet file from its footer. Columns are matched to the
/// table's fields by their field ids, or by name in files written without ids.
pub(crate) fn describe(
    location: &str,
    size: u64,
    metadata: &ParquetMetaData,
    schema: &IcebergSchema,
    spec_id: i32,
    partition: Struct,
) -> Result<DataFile> {
    let mut column_sizes: HashMap<i32, u64> = HashMap::new();
    let mut value_counts: HashMap<i32, u64> = HashMap::new();
    let mut null_counts: HashMap<i32, u64> = HashMap::new();
    let mut lower: HashMap<i32, Datum> = HashMap::new();
    let mut upper: HashMap<i32, Datum> = HashMap::new();
    // Columns whose statistics are missing in some row group get no bounds at all.
    let mut no_bounds: std::collections::HashSet<i32> = Default::default();
    let descr = metadata.file_metadata().schema_descr();
    for rg in metadata.row_groups() {
        for (i, col) in rg.columns().iter().enumerate() {
            let basic = descr.column(i).self_type().get_basic_info().clone();
            let id = match basic.has_id() {
                true => basic.id(),
                false => match schema.field_id_by_name(&descr.column(i).path().string()) {
                    Some(id) => id,
                    None => continue,
                },
            };
            *column_sizes.entry(id).or_default() += col.compressed_size() as u64;
            *value_counts.entry(id).or_default() += col.num_values() as u64;
            let Some(stats) = col.statistics() else {
                no_bounds.insert(id);
                continue;
            };
            if let Some(n) = stats.null_count_opt() {
                *null_counts.entry(id).or_default() += n;
            }
            let prim = match schema.field_by_id(id).map(|f| f.field_type.as_ref()) {
                Some(Type::Primitive(p)) if bounds_supported(p) => p.clone(),
                _ => {
                    no_bounds.insert(id);
                    continue;
                }
            };
            let min = stats
                .min_bytes_opt()
                .and_then(|b| Datum::try_from_bytes(b, prim.clone()).ok());
            let max = stats
                .max_bytes_opt()
                .filter(|_| stats.max_is_exact())
                .and_then(|b| Datum::try_from_bytes(b, prim.clone()).ok());
            match (min, max) {
                (Some(min), Some(max)) if !min.is_nan() && !max.is_nan() => {
                    merge_bound(&mut lower, id, min, std::cmp::Ordering::Less);
                    merge_bound(&mut upper, id, max, std::cmp::Ordering::Greater);
                }
                // A row group of nulls only has no bounds but does not spoil the others.
                (None, None) if stats.null_count_opt() == Some(col.num_values() as u64) => {}
                _ => {
                    no_bounds.insert(id);
                }
            }
        }
    }
    for id in no_bounds {
        lower.remove(&id);
        upper.remove(&id);
    }
    let mut builder = DataFileBuilder::default();
    builder
        .content(DataContentType::Data)
        .file_path(location.to_string())
        .file_format(DataFileFormat::Parquet)
        .partition(partition)
        .partition_spec_id(spec_id)
        .record_count(metadata.file_metadata().num_rows() as u64)
        .file_size_in_bytes(size)
        .column_sizes(column_sizes)
        .value_counts(value_counts)
        .null_value_counts(null_counts)
        .lower_bounds(lower)
        .upper_bounds(upper)
        .split_offsets(Some(
            metadata
                .row_groups()
                .iter()
                .filter_map(|rg| rg.file_offset())
                .collect(),
        ));
    builder
        .build()
        .map_err(|e| Error::Internal(format!("describing data file {location}: {e}")))
}

fn bounds_supported(p: &PrimitiveType) -> bool {
    use PrimitiveType as P;
    matches!(
        p,
        P::Boolean
            | P::Int
            | P::Long
            | P::Float
            | P::Double
            | P::Date
            | P::Timestamp
            | P::Timestamptz
            | P::String
    )
}

fn merge_bound(map: &mut HashMap<i32, Datum>, id: i32, value: Datum, keep: std::cmp::Ordering) {
    match map.get(&id) {
        Some(old) if value.partial_cmp(old) != Some(keep) => {}
        _ => {
            map.insert(id, value);
        }
    }
}
