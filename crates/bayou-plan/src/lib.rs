//! Plans a bayou run before anything executes: the parameter values ([`resolve_params`]), the
//! lake table each input reads ([`Sources`], resolved once against the ref), and the run's
//! description ([`plan`]) and each node's fingerprint ([`fingerprints`]).
//!
//! Entry points: [`resolve_params`], [`Sources::resolve`], [`plan`]. Trade-off: everything here
//! reads the catalog but never data, so a plan is cheap to make and to show (`--dry-run`), and
//! execution never has to ask the catalog again until it publishes.

mod build;
mod describe;
mod fingerprint;
mod params;
mod sources;

pub use build::{Plan, PlanOptions};
pub use describe::{PlanInput, PlanNode, kind_name, plan};
pub use fingerprint::{Runtime, fingerprints, uses_param};
pub use params::{lake_secret_key, resolve_params};
pub use sources::{Sources, is_model};

/// Why a run cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project has problems (exit code 2).
    #[error("{0}")]
    Project(bayou_project::Diagnostics),
    /// Bad command-line input (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lake(#[from] bayou_lake::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<bayou_catalog::Error> for Error {
    fn from(e: bayou_catalog::Error) -> Self {
        Self::Lake(bayou_lake::Error::Catalog(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
