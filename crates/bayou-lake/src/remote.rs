//! Source files in object storage (`s3://bucket/key`, a prefix, or a glob of keys), fetched to
//! local disk so `table create`/`import` read them like local ones. The store is opened the
//! way an `s3://` lake's is (its `AWS_*` credentials and endpoint).
//!
//! Trade-off: each file is streamed to a staging directory before it is read (one extra local
//! copy, never the whole file in memory), in exchange for one reader for every source.

use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _};
use tokio::io::AsyncWriteExt as _;

use crate::{Error, Result};

/// The `.parquet`, `.pq` and `.csv` objects `uri` names, sorted by key: the store they are in,
/// and (key, `s3://` URI) pairs.
pub(crate) async fn list(uri: &str) -> Result<Vec<(String, String)>> {
    Ok(list_in(uri).await?.1)
}

async fn list_in(uri: &str) -> Result<(std::sync::Arc<dyn ObjectStore>, Vec<(String, String)>)> {
    let rest = uri.strip_prefix("s3://").unwrap_or(uri);
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::InvalidInput(format!(
            "'{uri}' names no bucket\n  hint: use s3://BUCKET/PREFIX/*.parquet"
        )));
    }
    let store = crate::storage::s3_store(bucket)?;
    let glob_at = key.find(['*', '?', '[']);
    // What to list: the directory before the first glob character, or the key as a prefix.
    let prefix = match glob_at {
        Some(at) => key[..at].rsplit_once('/').map_or("", |(dir, _)| dir),
        None => key.trim_end_matches('/'),
    };
    let pattern = match glob_at {
        Some(_) => Some(
            glob::Pattern::new(key)
                .map_err(|e| Error::InvalidInput(format!("bad glob '{uri}': {e}")))?,
        ),
        None => None,
    };
    // One object named in full (listing it as a prefix would look under `key/`).
    if glob_at.is_none()
        && !key.is_empty()
        && !key.ends_with('/')
        && let Ok(meta) = store.head(&ObjectPath::from(key)).await
    {
        let k = meta.location.to_string();
        let uri = format!("s3://{bucket}/{k}");
        return Ok((store, vec![(k, uri)]));
    }
    // `*` stops at `/`, as it does for local globs.
    let glob_options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    let listed: Vec<object_store::ObjectMeta> = store
        .list(Some(&ObjectPath::from(prefix)))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::storage(uri, e))?;
    let mut keys: Vec<String> = listed
        .into_iter()
        .map(|m| m.location.to_string())
        .filter(|k| match &pattern {
            Some(p) => p.matches_with(k, glob_options),
            // A key names itself, or the objects under it as a directory.
            None => k == key || k.starts_with(&format!("{prefix}/")) || prefix.is_empty(),
        })
        .filter(|k| {
            let lower = k.to_ascii_lowercase();
            lower.ends_with(".parquet") || lower.ends_with(".pq") || lower.ends_with(".csv")
        })
        .collect();
    keys.sort();
    if keys.is_empty() {
        return Err(Error::InvalidInput(format!(
            "'{uri}' matches no .parquet or .csv object\n  hint: check the bucket, prefix or glob"
        )));
    }
    let named = keys
        .into_iter()
        .map(|k| {
            let uri = format!("s3://{bucket}/{k}");
            (k, uri)
        })
        .collect();
    Ok((store, named))
}

/// Fetches the objects `uri` names into `staging`: (local file, `s3://` URI) pairs, sorted by
/// key.
pub(crate) async fn fetch(uri: &str, staging: &Path) -> Result<Vec<(PathBuf, String)>> {
    let (store, keys) = list_in(uri).await?;
    std::fs::create_dir_all(staging).map_err(|e| Error::io(staging.display(), e))?;
    let mut out = Vec::new();
    for (i, (key, origin)) in keys.into_iter().enumerate() {
        let name = key.rsplit('/').next().unwrap_or(&key);
        let local = staging.join(format!("{i:06}-{name}"));
        download(store.as_ref(), &key, &local)
            .await
            .map_err(|e| match e {
                Error::Storage { source, .. } => Error::storage(&origin, source),
                other => other,
            })?;
        out.push((local, origin));
    }
    Ok(out)
}

/// Streams object `key` into the file `local`.
async fn download(store: &dyn ObjectStore, key: &str, local: &Path) -> Result<()> {
    let got = store
        .get(&ObjectPath::from(key))
        .await
        .map_err(|e| Error::storage(key, e))?;
    let mut file = tokio::fs::File::create(local)
        .await
        .map_err(|e| Error::io(local.display(), e))?;
    let mut stream = got.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::storage(key, e))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(local.display(), e))?;
    }
    file.flush()
        .await
        .map_err(|e| Error::io(local.display(), e))
}
