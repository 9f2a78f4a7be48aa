//! [`LakeStorage`]: the object store a lake lives in, and the mapping between Iceberg locations
//! (absolute URIs such as `file:///srv/lake/...` or `s3://bucket/lake/...`) and object paths.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use url::Url;

use crate::{Error, Result};

/// Where a lake lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    /// A local directory.
    Local(PathBuf),
    /// `s3://bucket/prefix`, configured by the usual `AWS_*` environment variables.
    S3 { bucket: String, prefix: String },
}

impl LakeLocation {
    /// Parses `s3://bucket/prefix` or a local path (relative paths become absolute).
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "'{text}' names no bucket\n  hint: use s3://BUCKET/PREFIX"
                )));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_end_matches('/').to_string(),
            });
        }
        if text.contains("://") {
            return Err(Error::InvalidInput(format!(
                "unsupported lake location '{text}'\n  hint: use a local directory or s3://BUCKET/PREFIX"
            )));
        }
        let path = FsPath::new(text);
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io("the current directory", e))?
                .join(path)
        };
        Ok(Self::Local(abs))
    }

    /// How the location is shown to people.
    pub fn display(&self) -> String {
        match self {
            Self::Local(p) => p.display().to_string(),
            Self::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// The S3 bucket `bucket`, with the `AWS_*` credentials, region and endpoint of the
/// environment (`AWS_ENDPOINT_URL` for S3-compatible servers).
pub(crate) fn s3_store(bucket: &str) -> Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        if endpoint.starts_with("http://") {
            builder = builder.with_allow_http(true);
        }
        builder = builder.with_endpoint(endpoint);
    }
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        builder = builder.with_region("us-east-1");
    }
    // A server that is down or failing fails the command within seconds, saying so, rather
    // than after object_store's default of minutes of retries.
    builder = builder.with_retry(object_store::RetryConfig {
        max_retries: 4,
        retry_timeout: std::time::Duration::from_secs(20),
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(2),
            base: 2.0,
        },
    });
    let store = builder
        .build()
        .map_err(|e| Error::storage(format!("s3://{bucket}"), e))?;
    Ok(Arc::new(store))
}

/// The lake's object store plus its root URI.
#[derive(Debug, Clone)]
pub struct LakeStorage {
    store: Arc<dyn ObjectStore>,
    /// In front of `store`'s data file reads, when set.
    scan_cache: Option<Arc<crate::ScanCache>>,
    /// The URI of the lake root, ending in `/`.
    root: Url,
    /// The object store URL DataFusion registers `store` under (`file:///` or `s3://bucket`).
    store_url: Url,
}

impl LakeStorage {
    pub fn open(location: &LakeLocation) -> Result<Self> {
        match location {
            LakeLocation::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
                let dir = dir
                    .canonicalize()
                    .map_err(|e| Error::io(dir.display(), e))?;
                let mut root = Url::from_directory_path(&dir).map_err(|()| {
                    Error::InvalidInput(format!("'{}' is not a usable directory", dir.display()))
                })?;
                if !root.path().ends_with('/') {
                    root.set_path(&format!("{}/", root.path()));
                }
                Ok(Self {
                    store: Arc::new(LocalFileSystem::new()),
                    scan_cache: None,
                    root,
                    store_url: Url::parse("file:///").expect("valid url"),
                })
            }
            LakeLocation::S3 { bucket, prefix } => {
                let store = s3_store(bucket)?;
                let root_text = if prefix.is_empty() {
                    format!("s3://{bucket}/")
                } else {
                    format!("s3://{bucket}/{prefix}/")
                };
                Ok(Self {
                    store,
                    scan_cache: None,
                    root: Url::parse(&root_text)
                        .map_err(|e| Error::InvalidInput(format!("{root_text}: {e}")))?,
                    store_url: Url::parse(&format!("s3://{bucket}"))
                        .map_err(|e| Error::InvalidInput(format!("s3://{bucket}: {e}")))?,
                })
            }
        }
    }

    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn cache_scans(&mut self, cache: Arc<crate::ScanCache>) {
        self.store = cache.wrap(self.store.clone());
        self.scan_cache = Some(cache);
    }

    /// The scan cache in front of this storage, if any.
    pub fn scan_cache(&self) -> Option<&Arc<crate::ScanCache>> {
        self.scan_cache.as_ref()
    }

    /// The URL to register [`Self::object_store`] under in a DataFusion runtime.
    pub fn store_url(&self) -> &Url {
        &self.store_url
    }

    /// The absolute location of `relative` (a `/`-separated path under the lake root).
    pub fn location(&self, relative: &str) -> String {
        format!("{}{}", self.root, relative.trim_start_matches('/'))
    }

    /// Whether `location` is an absolute URI under the lake's root (after `.` and `..` are
    /// resolved): where the lake may read on a caller's behalf.
    pub fn contains(&self, location: &str) -> bool {
        Url::parse(location).is_ok_and(|url| {
            url.as_str().starts_with(self.root.as_str()) && !location.contains("/../")
        })
    }

    /// A fresh place for table `key` in the lake: `tables/NAMESPACE/NAME-ID`, the id unique
    /// (a table dropped and made again gets a new place; an engine's staged table is checked
    /// against this shape).
    pub fn new_table_location(&self, key: &bayou_types::TableKey) -> String {
        // A v7 uuid's first 12 hex digits are its time: take random ones.
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.location(&format!(
            "tables/{}/{}-{}",
            key.namespace,
            key.name,
            &id[..12]
        ))
    }

    /// The object path of an absolute location inside this store.
    pub fn path(&self, location: &str) -> Result<Path> {
        let url = Url::parse(location)
            .map_err(|e| Error::InvalidInput(format!("bad location '{location}': {e}")))?;
        if url.scheme() != self.store_url.scheme() || url.host_str() != self.store_url.host_str() {
            return Err(Error::InvalidInput(format!(
                "location '{location}' is outside this lake ({})",
                self.root
            )));
        }
        Path::from_url_path(url.path())
            .map_err(|e| Error::InvalidInput(format!("bad location '{location}': {e}")))
    }

    pub async fn read(&self, location: &str) -> Result<Bytes> {
        let path = self.path(location)?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| Error::storage(location, e))?;
        got.bytes().await.map_err(|e| Error::storage(location, e))
    }

    /// Writes an object, replacing any previous version.
    pub async fn put(&self, location: &str, bytes: impl Into<PutPayload>) -> Result<()> {
        let path = self.path(location)?;
        self.store
            .put(&path, bytes.into())
            .await
            .map_err(|e| Error::storage(location, e))?;
        Ok(())
    }

    /// Locations of the objects under `relative` (a `/`-separated prefix under the lake root).
    pub async fn list(&self, relative: &str) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let prefix_location = self.location(relative);
        let prefix = self.path(&prefix_location)?;
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| Error::storage(&prefix_location, e))?;
        let base = self.store_url.as_str().trim_end_matches('/');
        Ok(metas
            .into_iter()
            .map(|m| format!("{base}/{}", m.location))
            .collect())
    }

    /// The objects under `relative` (a `/`-separated prefix under the lake root), with their
    /// sizes and when they were last written.
    pub async fn list_objects(&self, relative: &str) -> Result<Vec<object_store::ObjectMeta>> {
        use futures::TryStreamExt;
        let prefix_location = self.location(relative);
        let prefix = self.path(&prefix_location)?;
        self.store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| Error::storage(&prefix_location, e))
    }

    /// The files a local lake's writes left half-done under `relative`: the object store
    /// writes `NAME#N` and renames it to `NAME` when the write completes, so a write killed
    /// partway leaves its `NAME#N`, which listings do not show. None on S3, where an
    /// unfinished multipart upload is the bucket's lifecycle rules' to abort.
    pub async fn list_unfinished(&self, relative: &str) -> Result<Vec<Unfinished>> {
        let Ok(root) = self.root.to_file_path() else {
            return Ok(vec![]);
        };
        let dir = root.join(relative.trim_start_matches('/'));
        tokio::task::spawn_blocking(move || unfinished_under(&dir))
            .await
            .map_err(|e| Error::Internal(format!("listing unfinished writes: {e}")))?
    }

    /// Removes the object at `path` (one [`Self::list_objects`] gave); one already gone is
    /// no error.
    pub async fn delete(&self, path: &Path) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::storage(path.as_ref(), e)),
        }
    }

    /// Whether an object exists.
    pub async fn exists(&self, location: &str) -> Result<bool> {
        let path = self.path(location)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::storage(location, e)),
        }
    }

    /// Writes a new object; fails rather than overwrite an existing one.
    pub async fn create(&self, location: &str, bytes: impl Into<PutPayload>) -> Result<()> {
        let path = self.path(location)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.store
            .put_opts(&path, bytes.into(), opts)
            .await
            .map_err(|e| Error::storage(location, e))?;
        Ok(())
    }
}

/// A local file a write left unfinished (see [`LakeStorage::list_unfinished`]).
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub path: PathBuf,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

impl Unfinished {
    /// Removes it; one already gone is no error.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(self.path.display(), e)),
        }
    }
}

/// Files named `NAME#DIGITS` under `dir`, at any depth (none when `dir` does not exist).
fn unfinished_under(dir: &std::path::Path) -> Result<Vec<Unfinished>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(dir.display(), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
            // A write in flight renames its `NAME#N` away between the listing and a look at
            // it: what vanished is no longer unfinished, so it is skipped, not an error.
            let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(Error::io(entry.path().display(), e)),
            };
            if kind.is_dir() {
                stack.push(entry.path());
                continue;
            }
            if !kind.is_file() || !is_staged_name(&entry.file_name()) {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(Error::io(entry.path().display(), e)),
            };
            found.push(Unfinished {
                path: entry.path(),
                size: meta.len(),
                modified: meta
                    .modified()
                    .map_err(|e| Error::io(entry.path().display(), e))?,
            });
        }
    }
    Ok(found)
}

/// Whether a file name is a staged write's `NAME#DIGITS`.
fn is_staged_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .and_then(|n| n.rsplit_once('#'))
        .is_some_and(|(stem, n)| {
            !stem.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_name_ending_in_hash_digits_is_a_staged_write() {
        for staged in ["m0.avro#1", "data.parquet#42"] {
            assert!(is_staged_name(staged.as_ref()), "{staged}");
        }
        for done in ["m0.avro", "#1", "a#", "a#1x", "v#1.metadata.json"] {
            assert!(!is_staged_name(done.as_ref()), "{done}");
        }
    }

    #[test]
    fn a_staged_file_is_found_at_any_depth_and_a_missing_dir_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("t/metadata");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("m0.avro#3"), b"half").unwrap();
        std::fs::write(deep.join("m0.avro"), b"whole").unwrap();
        let found = unfinished_under(dir.path()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, deep.join("m0.avro#3"));
        assert_eq!(found[0].size, 4);
        assert!(
            unfinished_under(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
