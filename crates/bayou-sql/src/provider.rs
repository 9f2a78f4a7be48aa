//! DataFusion providers over a lake at one commit: [`LakeCatalog`] (namespaces as schemas) and
//! [`LakeTable`] (one table version, scanned with file and row-group pruning).

use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use async_trait::async_trait;
use bayou_lake::{DataFile, Lake, TableVersion};
use bayou_types::{CommitId, TableKey};
use datafusion::catalog::{CatalogProvider, SchemaProvider, Session, TableProvider};
use datafusion::common::config::TableParquetOptions;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{Column, ColumnStatistics, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_optimizer::pruning::PruningPredicate;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use iceberg::spec::PrimitiveLiteral;
use tokio::sync::OnceCell;

use crate::partitions::{self, ScanFile};

/// What one table scan read, for `bayou query` output and tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanRecord {
    pub table: String,
    pub files_total: usize,
    pub files_scanned: usize,
}

/// Scans made while planning a query.
pub type ScanLog = Arc<Mutex<Vec<ScanRecord>>>;

fn df_err(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The lake's namespaces at one commit, as DataFusion schemas.
#[derive(Debug)]
pub struct LakeCatalog {
    schemas: BTreeMap<String, Arc<NamespaceSchema>>,
}

impl LakeCatalog {
    pub async fn new(
        lake: &Lake,
        commit: &CommitId,
        ref_name: &str,
        scans: ScanLog,
    ) -> bayou_lake::Result<Self> {
        let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ns in lake.catalog().list_namespaces().await? {
            by_ns.entry(ns.name).or_default();
        }
        for (key, _) in lake.catalog().list_tables(commit).await? {
            by_ns.entry(key.namespace).or_default().push(key.name);
        }
        let schemas = by_ns
            .into_iter()
            .map(|(ns, tables)| {
                let schema = NamespaceSchema {
                    lake: lake.clone(),
                    commit: commit.clone(),
                    ref_name: ref_name.to_string(),
                    namespace: ns.clone(),
                    tables: tables.into_iter().collect(),
                    scans: scans.clone(),
                    overlay: Default::default(),
                };
                (ns, Arc::new(schema))
            })
            .collect();
        Ok(Self { schemas })
    }
}

impl CatalogProvider for LakeCatalog {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema_names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.schemas
            .get(bayou_types::canonical_namespace(name))
            .map(|s| s.clone() as Arc<dyn SchemaProvider>)
    }
}

#[derive(Debug)]
struct NamespaceSchema {
    lake: Lake,
    commit: CommitId,
    ref_name: String,
    namespace: String,
    tables: HashSet<String>,
    scans: ScanLog,
    /// Tables registered in the session (a pipeline's in-memory model outputs); they shadow
    /// lake tables of the same name.
    overlay: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

#[async_trait]
impl SchemaProvider for NamespaceSchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tables.iter().cloned().collect();
        v.extend(
            self.overlay
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .keys()
                .cloned(),
        );
        v.sort();
        v.dedup();
        v
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self
            .overlay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(t.clone()));
        }
        if !self.tables.contains(name) {
            return Ok(None);
        }
        let key = TableKey {
            namespace: self.namespace.clone(),
            name: name.to_string(),
        };
        let version = self
            .lake
            .table(&self.commit, &self.ref_name, &key)
            .await
            .map_err(df_err)?;
        let table = LakeTable::new(self.lake.clone(), key, version, self.scans.clone())?;
        Ok(Some(Arc::new(table.with_view_types())))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains(name)
            || self
                .overlay
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(name)
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self
            .overlay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, table))
    }
}

/// One version of one table.
#[derive(Debug)]
pub struct LakeTable {
    lake: Lake,
    key: TableKey,
    version: TableVersion,
    schema: SchemaRef,
    files: OnceCell<Vec<DataFile>>,
    scans: ScanLog,
}

impl LakeTable {
    pub fn new(lake: Lake, key: TableKey, version: TableVersion, scans: ScanLog) -> DfResult<Self> {
        let schema = version.arrow_schema().map_err(df_err)?;
        Ok(Self {
            lake,
            key,
            version,
            schema,
            files: OnceCell::new(),
            scans,
        })
    }

    /// The same table with its strings and binaries read as views (`Utf8View`, `BinaryView`):
    /// joins, sorts and group-bys then move 16-byte views instead of copying the bytes (q2 of
    /// the taxi benchmark: 1.5x). What leaves the engine is cast back by [`crate::plain_types`].
    pub fn with_view_types(mut self) -> Self {
        self.schema = crate::types::view_schema(&self.schema);
        self
    }

    /// A table of just `files` of `version` (say, one file an overwrite rewrites).
    pub fn with_files(
        lake: Lake,
        key: TableKey,
        version: TableVersion,
        scans: ScanLog,
        files: Vec<DataFile>,
    ) -> DfResult<Self> {
        let table = Self::new(lake, key, version, scans)?;
        table
            .files
            .set(files)
            .map_err(|e| DataFusionError::Internal(e.to_string()))?;
        Ok(table)
    }

    async fn files(&self) -> DfResult<&Vec<DataFile>> {
        self.files
            .get_or_try_init(|| async { self.lake.data_files(&self.version).await.map_err(df_err) })
            .await
    }
}

#[async_trait]
impl TableProvider for LakeTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// The row count of the snapshot's summary, for the planner's choices before any scan
    /// (say [`crate::eager`]'s); the scans report the exact figures of their files. A summary
    /// without `total-records` also reads as 0 rows, so 0 is reported as unknown.
    fn statistics(&self) -> Option<Statistics> {
        let rows = self.version.row_count();
        (self.version.snapshot_id().is_some() && rows > 0).then(|| {
            let mut stats = Statistics::new_unknown(&self.schema);
            stats.num_rows = Precision::Inexact(rows as usize);
            stats
        })
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Filters prune files and row groups; rows are still filtered above the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let files = self.files().await?;
        let predicate = match filters.iter().cloned().reduce(|a, b| a.and(b)) {
            Some(expr) => {
                let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
                Some(state.create_physical_expr(expr, &df_schema)?)
            }
            None => None,
        };
        let kept: Vec<&DataFile> = match &predicate {
            Some(p) => {
                let pruning = PruningPredicate::try_new(p.clone(), self.schema.clone())?;
                let stats = FileStats::new(files, &self.version, &self.schema);
                // Pruning only ever saves work: a predicate the statistics cannot judge
                // (say, a LIKE prefix over a string read as a view) keeps every file.
                let keep = pruning
                    .prune(&stats)
                    .unwrap_or_else(|_| vec![true; files.len()]);
                files
                    .iter()
                    .zip(keep)
                    .filter(|(_, k)| *k)
                    .map(|(f, _)| f)
                    .collect()
            }
            None => files.iter().collect(),
        };
        self.scans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ScanRecord {
                table: self.key.to_string(),
                files_total: files.len(),
                files_scanned: kept.len(),
            });
        if kept.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let storage = self.lake.storage();
        let scanned: Vec<ScanFile<'_>> = kept
            .iter()
            .map(|f| {
                Ok(ScanFile {
                    path: storage.path(f.file_path()).map_err(df_err)?.to_string(),
                    size: f.file_size_in_bytes(),
                    offsets: f.split_offsets(),
                })
            })
            .collect::<DfResult<_>>()?;
        let groups = partitions::spread(&scanned, state.config().target_partitions());
        let statistics = FileStats::from_refs(kept, &self.version, &self.schema).statistics();
        // The session's Parquet settings, and footers read through the engine's cache.
        let options = TableParquetOptions {
            global: state.config_options().execution.parquet.clone(),
            ..Default::default()
        };
        let url = ObjectStoreUrl::parse(storage.store_url().as_str())?;
        let runtime = state.runtime_env();
        let readers = CachedParquetFileReaderFactory::new(
            runtime.object_store(&url)?,
            runtime.cache_manager.get_file_metadata_cache(),
        );
        // No predicate here: DataFusion pushes the filters above the scan into it (for row
        // groups and pages), and setting them too would evaluate each twice.
        let source = ParquetSource::new(self.schema.clone())
            .with_table_parquet_options(options)
            .with_parquet_file_reader_factory(Arc::new(readers));
        let config = FileScanConfigBuilder::new(url, Arc::new(source))
            .with_file_groups(groups)
            // The groups are final: no re-splitting into contiguous byte ranges.
            .with_partitioned_by_file_group(true)
            .with_statistics(statistics)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

/// Per-file column statistics from Iceberg manifests, for [`PruningPredicate`].
pub(crate) struct FileStats<'a> {
    files: Vec<&'a DataFile>,
    /// Column name -> (field id, Arrow type).
    columns: HashMap<String, (i32, DataType)>,
    schema: SchemaRef,
}

impl<'a> FileStats<'a> {
    pub(crate) fn new(files: &'a [DataFile], version: &TableVersion, schema: &SchemaRef) -> Self {
        Self::from_refs(files.iter().collect(), version, schema)
    }

    fn from_refs(files: Vec<&'a DataFile>, version: &TableVersion, schema: &SchemaRef) -> Self {
        let iceberg = version.metadata.current_schema();
        let columns = schema
            .fields()
            .iter()
            .filter_map(|f| {
                let id = iceberg.field_by_name(f.name())?.id;
                Some((f.name().clone(), (id, f.data_type().clone())))
            })
            .collect();
        Self {
            files,
            columns,
            schema: schema.clone(),
        }
    }

    /// Table-level statistics of these files (rows, bytes, per-column bounds and null counts),
    /// so the planner can pick join sides and skip work. Inexact: filters may drop rows.
    fn statistics(&self) -> Statistics {
        let rows: u64 = self.files.iter().map(|f| f.record_count()).sum();
        let bytes: u64 = self.files.iter().map(|f| f.file_size_in_bytes()).sum();
        let columns = self
            .schema
            .fields()
            .iter()
            .map(|field| {
                let mut c = ColumnStatistics::new_unknown();
                let Some((id, ty)) = self.columns.get(field.name()) else {
                    return c;
                };
                let nulls: Option<u64> = self
                    .files
                    .iter()
                    .map(|f| f.null_value_counts().get(id).copied())
                    .sum();
                if let Some(n) = nulls {
                    c.null_count = Precision::Inexact(n as usize);
                }
                let fold = |upper: bool| -> Option<ScalarValue> {
                    let mut acc: Option<ScalarValue> = None;
                    for f in &self.files {
                        let bounds = if upper {
                            f.upper_bounds()
                        } else {
                            f.lower_bounds()
                        };
                        let v = to_scalar(bounds.get(id)?.literal(), ty)?;
                        acc = Some(match acc {
                            None => v,
                            Some(a) => {
                                let keep_new = if upper { v > a } else { v < a };
                                if keep_new { v } else { a }
                            }
                        });
                    }
                    acc
                };
                if let Some(min) = fold(false) {
                    c.min_value = Precision::Inexact(min);
                }
                if let Some(max) = fold(true) {
                    c.max_value = Precision::Inexact(max);
                }
                c
            })
            .collect();
        Statistics {
            num_rows: Precision::Inexact(rows as usize),
            total_byte_size: Precision::Inexact(bytes as usize),
            column_statistics: columns,
        }
    }

    fn bounds(&self, column: &Column, upper: bool) -> Option<ArrayRef> {
        let (id, ty) = self.columns.get(&column.name)?;
        let values = self.files.iter().map(|f| {
            let bounds = if upper {
                f.upper_bounds()
            } else {
                f.lower_bounds()
            };
            bounds
                .get(id)
                .and_then(|d| to_scalar(d.literal(), ty))
                .unwrap_or_else(|| ScalarValue::try_from(ty).unwrap_or(ScalarValue::Null))
        });
        ScalarValue::iter_to_array(values).ok()
    }
}

fn to_scalar(lit: &PrimitiveLiteral, ty: &DataType) -> Option<ScalarValue> {
    use PrimitiveLiteral as L;
    Some(match (lit, ty) {
        (L::Boolean(v), DataType::Boolean) => ScalarValue::Boolean(Some(*v)),
        (L::Int(v), DataType::Int32) => ScalarValue::Int32(Some(*v)),
        (L::Int(v), DataType::Date32) => ScalarValue::Date32(Some(*v)),
        (L::Long(v), DataType::Int64) => ScalarValue::Int64(Some(*v)),
        (L::Long(v), DataType::Timestamp(TimeUnit::Microsecond, tz)) => {
            ScalarValue::TimestampMicrosecond(Some(*v), tz.clone())
        }
        (L::Float(v), DataType::Float32) => ScalarValue::Float32(Some(v.0)),
        (L::Double(v), DataType::Float64) => ScalarValue::Float64(Some(v.0)),
        (L::String(v), DataType::Utf8) => ScalarValue::Utf8(Some(v.clone())),
        (L::String(v), DataType::Utf8View) => ScalarValue::Utf8View(Some(v.clone())),
        _ => return None,
    })
}

impl PruningStatistics for FileStats<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, false)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, true)
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let (id, _) = self.columns.get(&column.name)?;
        let counts: UInt64Array = self
            .files
            .iter()
            .map(|f| f.null_value_counts().get(id).copied())
            .collect();
        Some(Arc::new(counts))
    }

    fn row_counts(&self, _column: &Column) -> Option<ArrayRef> {
        let counts: UInt64Array = self.files.iter().map(|f| Some(f.record_count())).collect();
        Some(Arc::new(counts))
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}
