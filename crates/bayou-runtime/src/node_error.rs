//! [`NodeError`]: why one node of a run failed. The run then fails and the nodes after it are
//! skipped; the target branch is not touched.

/// Why one node failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NodeError {
    /// Its SQL, or a scan feeding it, failed in DataFusion (the message names the position).
    #[error("{0}")]
    Query(String),
    /// The function raised, or its process died before reporting.
    #[error("{0}")]
    Function(String),
    /// It ran past its `timeout`.
    #[error("timed out after {0}s")]
    TimedOut(u64),
    /// It used more memory than `@resources(memory=...)` allows.
    #[error(
        "out of memory: it used more than its {limit_mb} MB limit\n  hint: raise it with @bayou.resources(memory=\"...\")"
    )]
    OutOfMemory { limit_mb: u64 },
    /// Its tables could not be handed over (exchange files, the process itself).
    #[error("{0}")]
    Exchange(String),
}

impl NodeError {
    pub(crate) fn exchange(e: impl std::fmt::Display) -> Self {
        Self::Exchange(e.to_string())
    }

    pub(crate) fn query(e: impl std::fmt::Display) -> Self {
        Self::Query(e.to_string())
    }

    /// Whether it failed because the file system it wrote to was full.
    pub(crate) fn is_no_space(&self) -> bool {
        match self {
            Self::Function(m) | Self::Exchange(m) => {
                m.contains("No space left on device") || m.contains("[Errno 28]")
            }
            _ => false,
        }
    }
}
