//! [`Stats`]: what a worker reports with each heartbeat.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bayou_proto::v1::WorkerStats;

use crate::Holdings;

/// How often the caches are measured again: walking them costs a read of every directory.
const CACHE_EVERY: Duration = Duration::from_secs(30);

/// Measures a worker for its heartbeats.
#[derive(Debug)]
pub struct Stats {
    cache_dir: PathBuf,
    cache: Option<(Instant, bayou_runtime::CacheUsage)>,
}

impl Stats {
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            cache_dir: cache_dir.to_path_buf(),
            cache: None,
        }
    }

    /// The worker's figures now.
    pub fn sample(&mut self, holdings: &Holdings) -> WorkerStats {
        let cache = match self.cache {
            Some((at, usage)) if at.elapsed() < CACHE_EVERY => usage,
            _ => {
                let usage = bayou_runtime::cache_usage(&self.cache_dir);
                self.cache = Some((Instant::now(), usage));
                usage
            }
        };
        WorkerStats {
            running_nodes: 0,
            memory_used_bytes: resident_bytes(),
            shared_memory_bytes: holdings.bytes(),
            env_cache_bytes: cache.env_bytes,
            node_cache_bytes: cache.node_bytes,
        }
    }
}

/// This process's resident memory (`VmRSS`), 0 where /proc does not say.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_sees_the_process_and_the_outputs_held() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.arrow");
        std::fs::write(&file, vec![0u8; 4096]).unwrap();
        std::fs::create_dir_all(dir.path().join("nodes/ab")).unwrap();
        std::fs::write(dir.path().join("nodes/ab/out.arrow"), vec![0u8; 100]).unwrap();
        let holdings = Holdings::default();
        holdings.hold("r1", "trips", &file);
        let s = Stats::new(dir.path()).sample(&holdings);
        assert!(s.memory_used_bytes > 0, "{s:?}");
        assert_eq!(s.shared_memory_bytes, 4096);
        assert_eq!(s.node_cache_bytes, 100);
        holdings.release_run("r1");
        assert_eq!(holdings.bytes(), 0);
    }
}
