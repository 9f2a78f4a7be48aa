//! [`Error`]: one error type for every `Service`, local or remote, with a [`ErrorKind`] callers
//! can branch on (`--if-exists`) and the message the user reads.

/// What went wrong, independent of where the call ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    UnknownRef,
    RefExists,
    NotABranch,
    UnknownTable,
    /// A table of that name exists already (create without replace).
    TableExists,
    UnknownNamespace,
    /// A concurrent writer won; retrying may succeed.
    Conflict,
    InvalidArgument,
    /// No API key, or one that is unknown or revoked.
    Unauthenticated,
    /// The server cannot be reached.
    Unavailable,
    /// The user's input (a project, an argument) has problems to fix: exit code 2.
    Usage,
    /// The caller may not do this (another user's run).
    Forbidden,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] bayou_catalog::Error),
    #[error(transparent)]
    Lake(#[from] bayou_lake::Error),
    #[error(transparent)]
    Sql(#[from] bayou_sql::Error),
    #[error(transparent)]
    Runtime(#[from] bayou_runtime::Error),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Forbidden(String),
    /// An error a server reported (its message is the text the embedded call would print).
    #[error("{message}")]
    Remote { kind: ErrorKind, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Catalog(e) => catalog_kind(e),
            Self::Lake(bayou_lake::Error::Catalog(e)) => catalog_kind(e),
            Self::Lake(bayou_lake::Error::InvalidInput(_)) => ErrorKind::InvalidArgument,
            Self::Lake(_) => ErrorKind::Other,
            Self::Sql(bayou_sql::Error::Lake(bayou_lake::Error::Catalog(e))) => catalog_kind(e),
            Self::Sql(bayou_sql::Error::Sql(_) | bayou_sql::Error::Plan(_)) => {
                ErrorKind::InvalidArgument
            }
            Self::Sql(_) => ErrorKind::Other,
            Self::Runtime(e) if e.is_usage() => ErrorKind::Usage,
            Self::Runtime(bayou_runtime::Error::Lake(bayou_lake::Error::Catalog(e))) => {
                catalog_kind(e)
            }
            Self::Runtime(_) => ErrorKind::Other,
            Self::Usage(_) => ErrorKind::Usage,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Remote { kind, .. } => *kind,
        }
    }
}

fn catalog_kind(e: &bayou_catalog::Error) -> ErrorKind {
    use bayou_catalog::Error as E;
    match e {
        E::UnknownRef(_) | E::AmbiguousRef(_) => ErrorKind::UnknownRef,
        E::RefExists(_) => ErrorKind::RefExists,
        E::NotABranch(_) => ErrorKind::NotABranch,
        E::UnknownTable { .. } => ErrorKind::UnknownTable,
        E::TableExists(_) => ErrorKind::TableExists,
        E::UnknownNamespace(_) => ErrorKind::UnknownNamespace,
        E::Conflict { .. } | E::MergeConflict { .. } => ErrorKind::Conflict,
        E::InvalidName(_) | E::NamespaceNotEmpty { .. } | E::ActiveBranch(..) => {
            ErrorKind::InvalidArgument
        }
        _ => ErrorKind::Other,
    }
}
