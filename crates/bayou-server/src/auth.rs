//! [`Auth`]: who a call is from. Every gRPC and Flight call passes through [`Auth::caller`].

use bayou_catalog::ApiKey;
use bayou_lake::Lake;
use bayou_service::{Embedded, Error, ErrorKind, wire};
use tonic::Status;
use tonic::metadata::MetadataMap;

/// Checks API keys against the catalog and hands out the service acting as their user.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    lake: Lake,
    /// The machine's run settings, for the services handed out.
    runs: bayou_runtime::RunOptions,
    /// Parquet footers every caller's queries share (data files are the same for all).
    queries: bayou_service::QueryCache,
}

impl Auth {
    pub(crate) fn new(
        lake: Lake,
        runs: bayou_runtime::RunOptions,
        queries: bayou_service::QueryCache,
    ) -> Self {
        Self {
            lake,
            runs,
            queries,
        }
    }

    /// The service acting as the key's user, or `unauthenticated` saying what to do. A worker's
    /// key is refused: it attaches a worker and may call nothing else.
    pub(crate) async fn caller(&self, metadata: &MetadataMap) -> Result<Embedded, Status> {
        let key = self.key(metadata).await?;
        if key.worker {
            return Err(Status::permission_denied(
                "this is a worker's key: it attaches `bayou worker` and can call nothing else\n  hint: use a user's key (`bayou server key create --user NAME`)",
            ));
        }
        let lake = self.lake.with_author(key.user);
        Ok(Embedded::with_runs(lake, self.runs.clone())
            .per_user()
            .without_host_files()
            .with_admin(key.admin)
            .with_query_cache(self.queries.clone()))
    }

    /// The worker key a call carries; any other key is refused.
    pub(crate) async fn worker(&self, metadata: &MetadataMap) -> Result<ApiKey, Status> {
        let key = self.key(metadata).await?;
        if !key.worker {
            return Err(Status::permission_denied(
                "only a worker's key attaches a worker\n  hint: an admin makes one with `bayou server key create --worker NAME`",
            ));
        }
        Ok(key)
    }

    /// Whether the worker key `token` still works (not revoked since it attached). A catalog
    /// that cannot be read keeps the worker: a blip of the database must not drop every worker.
    pub(crate) async fn worker_still_valid(&self, token: &str) -> bool {
        match self.lake.catalog().authenticate(token).await {
            Ok(Some(key)) => key.worker,
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// The live key a call carries, or `unauthenticated` saying what to do.
    async fn key(&self, metadata: &MetadataMap) -> Result<ApiKey, Status> {
        let unauthenticated = |message: &str| {
            wire::error_to_status(&Error::Remote {
                kind: ErrorKind::Unauthenticated,
                message: message.to_string(),
            })
        };
        let Some(header) = metadata.get("authorization") else {
            return Err(unauthenticated(
                "this server needs an API key\n  hint: pass --api-key KEY, set BAYOU_API_KEY, or `bayou config set api_key KEY`; an admin makes keys with `bayou server key create --user NAME`",
            ));
        };
        let token = bearer(header);
        match self.lake.catalog().authenticate(token).await {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(unauthenticated(
                "the API key is unknown or revoked\n  hint: ask an admin for a new key (`bayou server key create --user NAME`)",
            )),
            Err(e) => Err(wire::error_to_status(&e.into())),
        }
    }
}

/// The key of `Authorization: Bearer KEY` (the scheme's case does not matter, RFC 9110); empty
/// when the header says something else.
pub(crate) fn bearer(header: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>) -> &str {
    header.to_str().map_or("", bayou_types::bearer_token)
}
