//! [`NodeCache`]: what earlier executions produced, keyed by a node's fingerprint, so a node
//! whose code, environment, parameters and inputs did not change is not executed again.
//!
//! A fingerprint ([`fingerprint`]) covers the node's normalised code (see `Node::code`), its
//! environment key, the parameter values it uses, and each input: a lake table's metadata file
//! (immutable, so it names the data exactly) or a parent's fingerprint, with the columns, filter
//! and ref pushed into the read. An entry is the output itself as an Arrow IPC file (mapped when
//! reused), or for a REPLACE model the table it wrote (reused while the branch still holds it,
//! so nothing is rewritten), or an expectation's verdict. Entries are written to a temporary
//! directory and renamed into place, so concurrent runs share the cache without locks: the
//! first writer of a fingerprint wins, the others' identical copies are dropped. An output file
//! already cached is never written again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What an entry holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Stored {
    /// `out.arrow` next to the entry.
    File,
    /// The table a REPLACE model wrote, valid while a branch holds this very metadata file.
    Table {
        table: String,
        metadata_location: String,
    },
    /// An expectation's verdict, and why it failed.
    Verdict {
        passed: bool,
        #[serde(default)]
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) node: String,
    pub(crate) rows: Option<u64>,
    pub(crate) created_ms: i64,
    /// The run that produced it.
    pub(crate) run: String,
    pub(crate) stored: Stored,
}

impl Entry {
    /// What `run` stores for `node` now.
    pub(crate) fn new(
        node: &bayou_project::Node,
        rows: Option<u64>,
        run: &str,
        stored: Stored,
    ) -> Self {
        Self {
            node: node.name.clone(),
            rows,
            created_ms: crate::env::now_ms(),
            run: run.to_string(),
            stored,
        }
    }
}

/// Entries under `<cache>/nodes/<fingerprint>/`.
#[derive(Debug, Clone)]
pub(crate) struct NodeCache {
    dir: PathBuf,
}

impl NodeCache {
    pub(crate) fn new(cache: &Path) -> Self {
        Self {
            dir: cache.join("nodes"),
        }
    }

    fn entry_dir(&self, fp: &str) -> PathBuf {
        self.dir.join(fp)
    }

    /// The entry of `fp`, if there is a complete one.
    pub(crate) fn get(&self, fp: &str) -> Option<Entry> {
        let dir = self.entry_dir(fp);
        let entry: Entry =
            serde_json::from_slice(&std::fs::read(dir.join("entry.json")).ok()?).ok()?;
        if matches!(entry.stored, Stored::File) && !dir.join("out.arrow").is_file() {
            return None;
        }
        let _ = std::fs::write(dir.join(".last_used"), crate::env::now_ms().to_string());
        Some(entry)
    }

    /// The output file of a `File` entry.
    pub(crate) fn file(&self, fp: &str) -> PathBuf {
        self.entry_dir(fp).join("out.arrow")
    }

    /// Stores `entry` for `fp`; `write_output` fills `out.arrow` for a `File` entry. A complete
    /// `File` entry already there is kept (the same fingerprint, the same output): only its
    /// use is recorded.
    pub(crate) fn put(
        &self,
        fp: &str,
        entry: &Entry,
        write_output: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        if matches!(entry.stored, Stored::File)
            && self
                .get(fp)
                .is_some_and(|e| matches!(e.stored, Stored::File))
        {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let tmp = self
            .dir
            .join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let written = (|| {
            if matches!(entry.stored, Stored::File) {
                write_output(&tmp.join("out.arrow"))?;
            }
            let json =
                serde_json::to_vec_pretty(entry).map_err(|e| Error::Internal(e.to_string()))?;
            std::fs::write(tmp.join("entry.json"), json).map_err(|e| Error::io(&tmp, e))
        })();
        let target = self.entry_dir(fp);
        // The newest entry wins: it replaces a damaged one, a REPLACE model's table that moved
        // on, or an identical one another run wrote meanwhile. Readers that mapped the old
        // output keep their mapping.
        let trash = self
            .dir
            .join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let moved = written.and_then(|()| {
            let _ = std::fs::rename(&target, &trash);
            match std::fs::rename(&tmp, &target) {
                Ok(()) => Ok(()),
                Err(_) if target.join("entry.json").exists() => Ok(()), // another run won
                Err(e) => Err(Error::io(&target, e)),
            }
        });
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_dir_all(&trash);
        moved
    }

    /// Removes the entry of `fp` (one found damaged). Readers that mapped its output keep
    /// their mapping.
    pub(crate) fn evict(&self, fp: &str) {
        let trash = self
            .dir
            .join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        if std::fs::rename(self.entry_dir(fp), &trash).is_ok() {
            let _ = std::fs::remove_dir_all(&trash);
        }
    }

    /// Removes the least recently used entries until the cache holds at most `max_bytes`, and
    /// temporary directories abandoned for an hour. Returns the bytes removed.
    pub(crate) fn trim(&self, max_bytes: u64) -> u64 {
        let Ok(dirs) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut entries = Vec::new();
        for d in dirs.flatten() {
            let path = d.path();
            let name = d.file_name().to_string_lossy().to_string();
            if name.starts_with(".tmp-") {
                if crate::env::abandoned(&path) {
                    let _ = std::fs::remove_dir_all(&path);
                }
                continue;
            }
            let used: i64 = std::fs::read_to_string(path.join(".last_used"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            let size = std::fs::metadata(path.join("out.arrow")).map_or(0, |m| m.len());
            entries.push((used, size, path));
        }
        let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
        entries.sort();
        let mut removed = 0;
        for (_, size, path) in entries {
            if total <= max_bytes {
                break;
            }
            if std::fs::remove_dir_all(&path).is_ok() {
                total -= size;
                removed += size;
            }
        }
        removed
    }
}
