//! The table tree of a commit: a two-level, content-addressed map from table key to state.
//!
//! The root maps a bucket number (first byte of the SHA-256 of the key) to a bucket node; a bucket
//! maps keys to states. A commit that touches `k` tables rewrites at most `k` buckets and the root,
//! so committing stays cheap with 10,000+ tables, and a lookup reads two nodes. Identical nodes
//! share one row, and unchanged subtrees compare equal by id, which makes diffs cheap too.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bayou_types::TableKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use bayou_types::CommitId;

use crate::model::{Commit, DiffEntry, Operation, TableState};
use crate::store::Store;
use crate::{Error, Result};

pub(crate) type Root = BTreeMap<u8, String>;
pub(crate) type Bucket = BTreeMap<TableKey, TableState>;
/// A node ready to store: its id and its bytes.
pub(crate) type EncodedNode = (String, Vec<u8>);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Node {
    Root { buckets: Vec<(u8, String)> },
    Bucket { tables: Vec<(TableKey, TableState)> },
}

pub(crate) fn bucket_of(key: &TableKey) -> u8 {
    let mut h = Sha256::new();
    h.update(key.namespace.as_bytes());
    h.update([0]);
    h.update(key.name.as_bytes());
    h.finalize()[0]
}

pub(crate) fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn encode(node: &Node) -> EncodedNode {
    let body = serde_json::to_vec(node).expect("tree nodes serialize");
    (hash_hex(&body), body)
}

/// Reads tree nodes and commits through bounded caches. Both are immutable and addressed by
/// content, so a cached copy is never stale.
#[derive(Debug, Default)]
pub(crate) struct NodeCache {
    roots: Mutex<HashMap<String, Arc<Root>>>,
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
    commits: Mutex<HashMap<CommitId, Arc<Commit>>>,
}

const CACHE_LIMIT: usize = 4096;

fn remember<K: std::hash::Hash + Eq, V>(cache: &Mutex<HashMap<K, V>>, key: K, value: V) {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, value);
}

impl NodeCache {
    pub(crate) async fn commit(&self, store: &dyn Store, id: &CommitId) -> Result<Arc<Commit>> {
        if let Some(c) = self
            .commits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(c.clone());
        }
        let commit = Arc::new(
            store
                .get_commit(id)
                .await?
                .ok_or_else(|| Error::Corrupt(format!("commit {id} is missing")))?,
        );
        remember(&self.commits, id.clone(), commit.clone());
        Ok(commit)
    }

    /// Forgets commits that were removed from the store.
    pub(crate) fn forget_commits(&self, ids: &[CommitId]) {
        let mut cache = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            cache.remove(id);
        }
    }

    pub(crate) fn remember_commit(&self, commit: Commit) {
        remember(&self.commits, commit.id.clone(), Arc::new(commit));
    }

    async fn load(&self, store: &dyn Store, id: &str) -> Result<Node> {
        let body = store
            .get_node(id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("tree node {id} is missing")))?;
        serde_json::from_slice(&body).map_err(|e| Error::Corrupt(format!("tree node {id}: {e}")))
    }

    pub(crate) async fn root(&self, store: &dyn Store, id: &str) -> Result<Arc<Root>> {
        if let Some(r) = self.roots.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(r.clone());
        }
        let Node::Root { buckets } = self.load(store, id).await? else {
            return Err(Error::Corrupt(format!("tree node {id} is not a root")));
        };
        let root = Arc::new(buckets.into_iter().collect::<Root>());
        remember(&self.roots, id.to_string(), root.clone());
        Ok(root)
    }

    pub(crate) async fn bucket(&self, store: &dyn Store, id: &str) -> Result<Arc<Bucket>> {
        if let Some(b) = self
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(b.clone());
        }
        let Node::Bucket { tables } = self.load(store, id).await? else {
            return Err(Error::Corrupt(format!("tree node {id} is not a bucket")));
        };
        let bucket = Arc::new(tables.into_iter().collect::<Bucket>());
        remember(&self.buckets, id.to_string(), bucket.clone());
        Ok(bucket)
    }

    pub(crate) async fn get(
        &self,
        store: &dyn Store,
        root: &str,
        key: &TableKey,
    ) -> Result<Option<TableState>> {
        let root = self.root(store, root).await?;
        match root.get(&bucket_of(key)) {
            None => Ok(None),
            Some(b) => Ok(self.bucket(store, b).await?.get(key).cloned()),
        }
    }

    pub(crate) async fn list(&self, store: &dyn Store, root: &str) -> Result<Bucket> {
        let mut all = Bucket::new();
        for id in self.root(store, root).await?.values() {
            all.extend(
                self.bucket(store, id)
                    .await?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        Ok(all)
    }

    /// Tables whose state differs between two trees.
    pub(crate) async fn diff(&self, store: &dyn Store, a: &str, b: &str) -> Result<Vec<DiffEntry>> {
        let mut out = Vec::new();
        if a == b {
            return Ok(out);
        }
        let (ra, rb) = (self.root(store, a).await?, self.root(store, b).await?);
        let empty = Arc::new(Bucket::new());
        let mut slots: Vec<u8> = ra.keys().chain(rb.keys()).copied().collect();
        slots.sort_unstable();
        slots.dedup();
        for slot in slots {
            let (ia, ib) = (ra.get(&slot), rb.get(&slot));
            if ia == ib {
                continue;
            }
            let ba = match ia {
                Some(id) => self.bucket(store, id).await?,
                None => empty.clone(),
            };
            let bb = match ib {
                Some(id) => self.bucket(store, id).await?,
                None => empty.clone(),
            };
            for key in ba.keys().chain(bb.keys().filter(|k| !ba.contains_key(k))) {
                let (sa, sb) = (ba.get(key), bb.get(key));
                if sa != sb {
                    out.push(DiffEntry {
                        key: key.clone(),
                        from: sa.cloned(),
                        to: sb.cloned(),
                    });
                }
            }
        }
        out.sort_by(|x, y| x.key.cmp(&y.key));
        Ok(out)
    }

    /// Applies operations to a tree; returns the new root id and the nodes to write.
    pub(crate) async fn apply(
        &self,
        store: &dyn Store,
        root: &str,
        ops: &[Operation],
    ) -> Result<(String, Vec<EncodedNode>)> {
        let mut buckets: Root = (*self.root(store, root).await?).clone();
        let mut touched: BTreeMap<u8, Bucket> = BTreeMap::new();
        for op in ops {
            let slot = bucket_of(op.key());
            let bucket = match touched.entry(slot) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let current = match buckets.get(&slot) {
                        Some(id) => (*self.bucket(store, id).await?).clone(),
                        None => Bucket::new(),
                    };
                    e.insert(current)
                }
            };
            match op {
                Operation::Put { key, state } => {
                    bucket.insert(key.clone(), state.clone());
                }
                Operation::Delete { key } => {
                    bucket.remove(key);
                }
            }
        }
        let mut nodes = Vec::with_capacity(touched.len() + 1);
        for (slot, bucket) in touched {
            if bucket.is_empty() {
                buckets.remove(&slot);
                continue;
            }
            let (id, body) = encode(&Node::Bucket {
                tables: bucket.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
            buckets.insert(slot, id.clone());
            remember(&self.buckets, id.clone(), Arc::new(bucket));
            nodes.push((id, body));
        }
        let (id, body) = encode(&Node::Root {
            buckets: buckets.iter().map(|(k, v)| (*k, v.clone())).collect(),
        });
        remember(&self.roots, id.clone(), Arc::new(buckets));
        nodes.push((id.clone(), body));
        Ok((id, nodes))
    }
}

/// The empty tree's root node.
pub(crate) fn empty_root() -> EncodedNode {
    encode(&Node::Root { buckets: vec![] })
}
