//! [`Stats`]: what a worker reports with each heartbeat.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bayou_proto::v1::WorkerStats;

use crate::Holdings;

/// How often the caches are measured again: walking them costs a read of every directory.
const CACHE_EVERY: Duration = Duration::from_secs(30);

/// Measures a worker for its heartbeats. The caches are walked on a blocking thread, so a
/// large package store never delays a heartbeat: each one carries the latest measurement.
#[derive(Debug)]
pub struct Stats {
    cache_dir: PathBuf,
    cache: bayou_runtime::CacheUsage,
    measured: Option<Instant>,
    measuring: Option<tokio::task::JoinHandle<bayou_runtime::CacheUsage>>,
}

impl Drop for Stats {
    fn drop(&mut self) {
        if let Some(walk) = self.measuring.take() {
            walk.abort();
        }
    }
}

impl Stats {
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            cache_dir: cache_dir.to_path_buf(),
            cache: Default::default(),
            measured: None,
            measuring: None,
        }
    }

    /// Takes a finished measurement of the caches, and starts the next one when due.
    fn refresh_caches(&mut self) {
        if self.measuring.as_ref().is_some_and(|w| w.is_finished())
            && let Some(walk) = self.measuring.take()
            && let Some(Ok(usage)) = futures::FutureExt::now_or_never(walk)
        {
            self.cache = usage;
            self.measured = Some(Instant::now());
        }
        let due = self.measured.is_none_or(|at| at.elapsed() >= CACHE_EVERY);
        if due && self.measuring.is_none() {
            let dir = self.cache_dir.clone();
            self.measuring = Some(tokio::task::spawn_blocking(move || {
                bayou_runtime::cache_usage(&dir)
            }));
        }
    }

    /// The worker's figures now (the caches' as last measured).
    pub fn sample(&mut self, holdings: &Holdings, running_nodes: u32) -> WorkerStats {
        self.refresh_caches();
        let cache = self.cache;
        WorkerStats {
            running_nodes,
            memory_used_bytes: resident_bytes(),
            shared_memory_bytes: holdings.bytes(),
            env_cache_bytes: cache.env_bytes,
            node_cache_bytes: cache.node_bytes,
        }
    }
}

/// This process's resident memory (`VmRSS`), 0 where /proc does not say.
fn resident_bytes() -> u64 {
    proc_kib("/proc/self/status", "VmRSS:")
}

/// The machine's memory (`MemTotal`), 0 where /proc does not say: what a worker offers by
/// default.
pub fn machine_memory() -> u64 {
    proc_kib("/proc/meminfo", "MemTotal:")
}

/// The `key: N kB` line of a /proc file, in bytes.
fn proc_kib(file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sample_sees_the_process_and_the_outputs_held() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.arrow");
        std::fs::write(&file, vec![0u8; 4096]).unwrap();
        std::fs::create_dir_all(dir.path().join("nodes/ab")).unwrap();
        std::fs::write(dir.path().join("nodes/ab/out.arrow"), vec![0u8; 100]).unwrap();
        let holdings = Holdings::default();
        holdings.hold("r1", "trips", &file);
        let mut stats = Stats::new(dir.path());
        let s = stats.sample(&holdings, 0);
        assert!(s.memory_used_bytes > 0, "{s:?}");
        assert!(machine_memory() > s.memory_used_bytes);
        assert_eq!(s.shared_memory_bytes, 4096);
        // The caches are measured off the heartbeat's thread; a later sample carries them.
        if let Some(walk) = stats.measuring.as_mut() {
            stats.cache = walk.await.unwrap();
            stats.measured = Some(Instant::now());
            stats.measuring = None;
        }
        assert_eq!(stats.sample(&holdings, 0).node_cache_bytes, 100);
        holdings.release_run("r1");
        assert_eq!(holdings.bytes(), 0);
    }
}
