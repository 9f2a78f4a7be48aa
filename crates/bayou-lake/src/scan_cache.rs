//! [`ScanCache`]: the byte ranges of Iceberg data files read from object storage, kept on local
//! disk, so a later scan fetches only what no earlier scan read.
//!
//! Data files are immutable (a new snapshot writes new files), so a cached range never goes
//! stale. A Parquet reader asks for the footer and then one range per column chunk it needs: a
//! scan of three columns after one of two fetches only the third column's chunks. Each fetched
//! range is a file `<dir>/<file hash>/<start>-<end>`, written under a temporary name and renamed,
//! so concurrent processes share the cache without locks (two may fetch the same range once
//! each; neither reads a partial file). The cache is bounded: [`ScanCache::trim`] removes the
//! least recently read ranges beyond its size. Entry point: [`ScanCache::wrap`], which puts the
//! cache in front of an object store.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult,
};

/// Bytes read through the cache, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanBytes {
    /// Fetched from object storage.
    pub from_storage: u64,
    /// Served from local disk.
    pub from_cache: u64,
}

/// A local cache of data file ranges; see the module docs.
#[derive(Debug)]
pub struct ScanCache {
    dir: PathBuf,
    max_bytes: u64,
    from_storage: AtomicU64,
    from_cache: AtomicU64,
    /// Per data file: its size and the ranges on disk (loaded from the directory on first use).
    files: Mutex<HashMap<String, Arc<Mutex<CachedFile>>>>,
}

#[derive(Debug, Default)]
struct CachedFile {
    size: Option<u64>,
    ranges: Vec<Range<u64>>,
}

fn hash(location: &Path) -> String {
    use std::hash::{Hash, Hasher};
    // Two independent 64-bit hashes: collisions across a cache's files are not a concern.
    let mut a = std::collections::hash_map::DefaultHasher::new();
    location.as_ref().hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (location.as_ref(), 0x9e37_79b9u32).hash(&mut b);
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

impl ScanCache {
    /// A cache in `dir` holding up to `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
            from_storage: AtomicU64::new(0),
            from_cache: AtomicU64::new(0),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// `inner` with this cache in front of its data file reads.
    pub fn wrap(self: &Arc<Self>, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(CachingStore {
            inner,
            cache: self.clone(),
        })
    }

    pub fn bytes(&self) -> ScanBytes {
        ScanBytes {
            from_storage: self.from_storage.load(Ordering::Relaxed),
            from_cache: self.from_cache.load(Ordering::Relaxed),
        }
    }

    fn file_dir(&self, location: &Path) -> PathBuf {
        self.dir.join(hash(location))
    }

    fn entry(&self, location: &Path) -> Arc<Mutex<CachedFile>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .entry(location.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(self.load(location))))
            .clone()
    }

    /// What another process (or an earlier run) left on disk for `location`.
    fn load(&self, location: &Path) -> CachedFile {
        let dir = self.file_dir(location);
        let size = std::fs::read_to_string(dir.join("size"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let ranges = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| parse_range(&e.file_name().to_string_lossy()))
            .collect();
        CachedFile { size, ranges }
    }

    /// The parts of `wanted` no cached range covers.
    fn missing(file: &CachedFile, wanted: &Range<u64>) -> Vec<Range<u64>> {
        let mut gaps = Vec::new();
        let mut at = wanted.start;
        while at < wanted.end {
            let covering = file
                .ranges
                .iter()
                .filter(|r| r.start <= at && at < r.end)
                .map(|r| r.end)
                .max();
            match covering {
                Some(end) => at = end,
                None => {
                    let next = file
                        .ranges
                        .iter()
                        .filter(|r| r.start > at)
                        .map(|r| r.start)
                        .min()
                        .unwrap_or(wanted.end)
                        .min(wanted.end);
                    gaps.push(at..next);
                    at = next;
                }
            }
        }
        gaps
    }

    /// Reads `wanted` out of the cached range files (all of it is covered).
    fn assemble(
        &self,
        location: &Path,
        file: &CachedFile,
        wanted: &Range<u64>,
    ) -> std::io::Result<Bytes> {
        use std::io::{Read, Seek, SeekFrom};
        let dir = self.file_dir(location);
        let mut out = BytesMut::with_capacity((wanted.end - wanted.start) as usize);
        let mut at = wanted.start;
        while at < wanted.end {
            let Some(r) = file
                .ranges
                .iter()
                .filter(|r| r.start <= at && at < r.end)
                .max_by_key(|r| r.end)
            else {
                return Err(std::io::Error::other("a cached range went missing"));
            };
            let path = dir.join(format!("{}-{}", r.start, r.end));
            let mut f = std::fs::File::options()
                .read(true)
                .write(true)
                .open(&path)?;
            // Reading is using: the least recently used ranges are trimmed first.
            let _ = f.set_modified(std::time::SystemTime::now());
            f.seek(SeekFrom::Start(at - r.start))?;
            let take = r.end.min(wanted.end) - at;
            let start = out.len();
            out.resize(start + take as usize, 0);
            f.read_exact(&mut out[start..])?;
            at += take;
        }
        Ok(out.freeze())
    }

    fn store(
        &self,
        location: &Path,
        range: &Range<u64>,
        bytes: &Bytes,
        size: Option<u64>,
    ) -> std::io::Result<()> {
        let dir = self.file_dir(location);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(format!("{}-{}", range.start, range.end)))?;
        if let Some(size) = size {
            let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
            std::fs::write(&tmp, size.to_string())?;
            std::fs::rename(&tmp, dir.join("size"))?;
        }
        Ok(())
    }

    /// Removes the least recently read ranges until the cache holds at most its size. Returns
    /// the bytes removed.
    pub fn trim(&self) -> u64 {
        let mut all: Vec<(std::time::SystemTime, u64, PathBuf)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .filter(|e| parse_range(&e.file_name().to_string_lossy()).is_some())
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let mut total: u64 = all.iter().map(|(_, len, _)| len).sum();
        all.sort();
        let mut removed = 0;
        for (_, len, path) in all {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                removed += len;
            }
        }
        if removed > 0 {
            // Forget what this process knew; the directories are the truth.
            self.files.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
        removed
    }

    /// `ranges` of `location`, from the cache where it has them and from `inner` for the rest.
    async fn get_ranges(
        &self,
        inner: &dyn ObjectStore,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let entry = self.entry(location);
        let gaps: Vec<Range<u64>> = {
            let file = entry.lock().unwrap_or_else(|e| e.into_inner());
            let mut gaps: Vec<Range<u64>> = ranges
                .iter()
                .flat_map(|r| Self::missing(&file, r))
                .collect();
            gaps.sort_by_key(|r| r.start);
            gaps.dedup();
            gaps
        };
        let fetched = if gaps.is_empty() {
            vec![]
        } else {
            inner.get_ranges(location, &gaps).await?
        };
        let served: Option<Vec<Bytes>> = {
            let mut file = entry.lock().unwrap_or_else(|e| e.into_inner());
            for (gap, bytes) in gaps.iter().zip(&fetched) {
                self.from_storage
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let got = gap.start..gap.start + bytes.len() as u64;
                if self.store(location, &got, bytes, file.size).is_ok() {
                    file.ranges.push(got);
                }
            }
            let out: Option<Vec<Bytes>> = ranges
                .iter()
                .map(|r| self.assemble(location, &file, r).ok())
                .collect();
            if out.is_none() {
                // A range the disk could not hold, or one another process trimmed meanwhile:
                // forget what this process knew and read the whole request from storage.
                *file = self.load(location);
            }
            out
        };
        match served {
            Some(out) => {
                let fresh: u64 = fetched.iter().map(|b| b.len() as u64).sum();
                let total: u64 = out.iter().map(|b| b.len() as u64).sum();
                self.from_cache
                    .fetch_add(total.saturating_sub(fresh), Ordering::Relaxed);
                Ok(out)
            }
            None => {
                let out = inner.get_ranges(location, ranges).await?;
                let total: u64 = out.iter().map(|b| b.len() as u64).sum();
                self.from_storage.fetch_add(total, Ordering::Relaxed);
                Ok(out)
            }
        }
    }
}

fn parse_range(name: &str) -> Option<Range<u64>> {
    let (a, b) = name.split_once('-')?;
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a < b).then_some(a..b)
}

/// An object store whose data file reads go through a [`ScanCache`].
#[derive(Debug)]
struct CachingStore {
    inner: Arc<dyn ObjectStore>,
    cache: Arc<ScanCache>,
}

impl fmt::Display for CachingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScanCache({})", self.inner)
    }
}

/// Data files: immutable, worth caching. Metadata and manifests are small and read once.
fn is_data_file(location: &Path) -> bool {
    location.as_ref().ends_with(".parquet")
}

#[async_trait]
impl ObjectStore for CachingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let plain = options.if_match.is_none()
            && options.if_none_match.is_none()
            && options.if_modified_since.is_none()
            && options.if_unmodified_since.is_none()
            && options.version.is_none()
            && !options.head;
        let range = match &options.range {
            Some(GetRange::Bounded(r)) if plain && is_data_file(location) => r.clone(),
            _ => return self.inner.get_opts(location, options).await,
        };
        let entry = self.cache.entry(location);
        let size = entry.lock().unwrap_or_else(|e| e.into_inner()).size;
        let size = match size {
            Some(size) => size,
            None => {
                let size = self.inner.head(location).await?.size;
                entry.lock().unwrap_or_else(|e| e.into_inner()).size = Some(size);
                size
            }
        };
        let range = range.start.min(size)..range.end.min(size);
        let bytes = self
            .cache
            .get_ranges(self.inner.as_ref(), location, std::slice::from_ref(&range))
            .await?
            .pop()
            .unwrap_or_default();
        Ok(GetResult {
            payload: GetResultPayload::Stream(Box::pin(futures::stream::once(
                async move { Ok(bytes) },
            ))),
            meta: ObjectMeta {
                location: location.clone(),
                last_modified: chrono::Utc::now(),
                size,
                e_tag: None,
                version: None,
            },
            range,
            attributes: Default::default(),
        })
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        if !is_data_file(location) {
            return self.inner.get_ranges(location, ranges).await;
        }
        self.cache
            .get_ranges(self.inner.as_ref(), location, ranges)
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn a_second_scan_fetches_only_what_the_first_did_not() {
        let dir = tempfile::tempdir().unwrap();
        let backing: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let path = Path::from("t/data/a.parquet");
        backing.put(&path, data.clone().into()).await.unwrap();
        let cache = Arc::new(ScanCache::new(dir.path(), 1 << 30));
        let store = cache.wrap(backing.clone());

        // "Two columns", then "three": the second read fetches only the new range.
        let two = [100..1100, 4000..5000];
        let got = store.get_ranges(&path, &two).await.unwrap();
        assert_eq!(got[1], Bytes::copy_from_slice(&data[4000..5000]));
        assert_eq!(
            cache.bytes(),
            ScanBytes {
                from_storage: 2000,
                from_cache: 0
            }
        );
        let three = [100..1100, 4000..5000, 7000..7500];
        let got = store.get_ranges(&path, &three).await.unwrap();
        assert_eq!(got[2], Bytes::copy_from_slice(&data[7000..7500]));
        assert_eq!(
            cache.bytes(),
            ScanBytes {
                from_storage: 2500,
                from_cache: 2000
            }
        );

        // A range across cached and uncached parts fetches only the gap; get_range works too.
        let got = store.get_range(&path, 900..1300).await.unwrap();
        assert_eq!(got, Bytes::copy_from_slice(&data[900..1300]));
        assert_eq!(cache.bytes().from_storage, 2700);

        // Another process (a fresh cache on the same directory) finds it all on disk.
        let again = Arc::new(ScanCache::new(dir.path(), 1 << 30));
        let got = again.wrap(backing).get_ranges(&path, &three).await.unwrap();
        assert_eq!(got[0], Bytes::copy_from_slice(&data[100..1100]));
        assert_eq!(
            again.bytes(),
            ScanBytes {
                from_storage: 0,
                from_cache: 2500
            }
        );
    }

    #[tokio::test]
    async fn trimming_keeps_the_cache_within_its_size_least_recently_read_first() {
        let dir = tempfile::tempdir().unwrap();
        let backing: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("a.parquet");
        backing.put(&path, vec![7u8; 5000].into()).await.unwrap();
        let cache = Arc::new(ScanCache::new(dir.path(), 2500));
        let store = cache.wrap(backing);
        for r in [0..1000, 2000..3000, 4000..5000] {
            store.get_range(&path, r).await.unwrap();
        }
        // Age the ranges by hand: 0..1000 oldest, then 2000..3000, then 4000..5000.
        let file_dir = cache.file_dir(&path);
        let now = std::time::SystemTime::now();
        for (name, age) in [("0-1000", 300), ("2000-3000", 200), ("4000-5000", 100)] {
            let f = std::fs::File::options()
                .write(true)
                .open(file_dir.join(name))
                .unwrap();
            f.set_modified(now - std::time::Duration::from_secs(age))
                .unwrap();
        }
        // Reading a range makes it the most recently used.
        store.get_range(&path, 0..1000).await.unwrap();
        assert_eq!(cache.trim(), 1000);
        let mut ranges = ScanCache::new(dir.path(), 2500).load(&path).ranges;
        ranges.sort_by_key(|r| r.start);
        assert_eq!(ranges, vec![0..1000, 4000..5000]);
    }
}
