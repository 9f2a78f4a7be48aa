//! The Iceberg REST catalog at `/iceberg`, so that engines that speak it (pyiceberg, DuckDB,
//! Spark, Trino) read and write bayou's tables at any ref.
//!
//! A ref is picked by the catalog's `warehouse` (returned as the `prefix` of every later path:
//! `/iceberg/v1/{ref}/namespaces/...`) or by the URI itself (`/iceberg/{ref}/v1/...`). The API
//! key is the Bearer token. Loading a table answers the metadata file that ref holds, so a
//! reader at a tag or commit sees the table as it was. Every write (create, commit, drop,
//! rename, register, a multi-table transaction) is one catalog commit on the branch, checked
//! against the state of each table when the engine read it; tags and commits refuse writes.
//!
//! Trade-offs: tables live in the lake's own storage, so a location of the client's choosing
//! is refused (a staged create answers the place bayou gives it). Namespaces are shared by
//! every ref and have no properties (those sent are ignored). Dropping a table removes it
//! from the branch; its files stay for the refs that still hold it (`purgeRequested` changes
//! nothing).

mod namespaces;
mod tables;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bayou_service::{Embedded, ErrorKind, Service};
use bayou_types::TableKey;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auth;

/// The catalog's routes, to nest at `/iceberg`.
pub(crate) fn router(auth: Auth) -> axum::Router {
    let api = axum::Router::new()
        .route(
            "/namespaces",
            get(namespaces::list).post(namespaces::create),
        )
        .route(
            "/namespaces/{namespace}",
            get(namespaces::load)
                .head(namespaces::load)
                .delete(namespaces::drop),
        )
        .route(
            "/namespaces/{namespace}/tables",
            get(tables::list).post(tables::create),
        )
        .route("/namespaces/{namespace}/register", post(tables::register))
        .route(
            "/namespaces/{namespace}/tables/{table}",
            get(tables::load)
                .head(tables::load)
                .post(tables::commit)
                .delete(tables::drop),
        )
        .route("/transactions/commit", post(tables::commit_transaction))
        .route("/tables/rename", post(tables::rename));
    axum::Router::new()
        .route("/v1/config", get(config))
        .route("/{reference}/v1/config", get(config_at))
        // `/v1/{ref}/...` (the warehouse as prefix) and `/{ref}/v1/...` (the ref in the URI).
        .nest("/v1/{reference}", api.clone())
        .nest("/{reference}/v1", api)
        .with_state(auth)
}

/// What this catalog serves, as clients ask (`endpoints` in the config).
const ENDPOINTS: [&str; 16] = [
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "POST /v1/{prefix}/tables/rename",
    "POST /v1/{prefix}/transactions/commit",
    "GET /v1/config",
    "GET /v1/{prefix}/config",
];

/// An Iceberg REST error: `{"error": {"message", "type", "code"}}`.
pub(crate) struct RestError(StatusCode, &'static str, String);

impl RestError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            message.into(),
        )
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let RestError(code, kind, message) = self;
        let body = json!({"error": {"message": message, "type": kind, "code": code.as_u16()}});
        (code, Json(body)).into_response()
    }
}

impl From<bayou_service::Error> for RestError {
    fn from(e: bayou_service::Error) -> Self {
        let (code, kind) = match e.kind() {
            ErrorKind::UnknownTable => (StatusCode::NOT_FOUND, "NoSuchTableException"),
            ErrorKind::UnknownNamespace => (StatusCode::NOT_FOUND, "NoSuchNamespaceException"),
            ErrorKind::UnknownRef => (StatusCode::NOT_FOUND, "NoSuchWarehouseException"),
            ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "NotAuthorizedException"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "ForbiddenException"),
            ErrorKind::InvalidArgument | ErrorKind::Usage | ErrorKind::NotABranch => {
                (StatusCode::BAD_REQUEST, "BadRequestException")
            }
            ErrorKind::Conflict => (StatusCode::CONFLICT, "CommitFailedException"),
            ErrorKind::TableExists | ErrorKind::RefExists => {
                (StatusCode::CONFLICT, "AlreadyExistsException")
            }
            ErrorKind::Unavailable | ErrorKind::Other => {
                (StatusCode::INTERNAL_SERVER_ERROR, "ServerError")
            }
        };
        RestError(code, kind, e.to_string())
    }
}

impl From<bayou_lake::Error> for RestError {
    fn from(e: bayou_lake::Error) -> Self {
        bayou_service::Error::from(e).into()
    }
}

type Answer = Result<Json<Value>, RestError>;

/// The service acting as the Bearer token's user.
async fn caller(auth: &Auth, headers: &HeaderMap) -> Result<Embedded, RestError> {
    let metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
    auth.caller(&metadata).await.map_err(|status| {
        RestError(
            StatusCode::UNAUTHORIZED,
            "NotAuthorizedException",
            status.message().to_string(),
        )
    })
}

#[derive(Deserialize)]
struct ConfigQuery {
    warehouse: Option<String>,
}

/// `GET /v1/config?warehouse=REF`: later paths carry the ref as their prefix.
async fn config(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Query(query): Query<ConfigQuery>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let reference = match query.warehouse.filter(|w| !w.is_empty()) {
        Some(w) => w,
        None => svc.active_branch().await?,
    };
    svc.resolve(&reference).await?;
    Ok(Json(json!({
        "defaults": {},
        "overrides": {"prefix": reference},
        "endpoints": ENDPOINTS,
    })))
}

/// `GET /{ref}/v1/config`: the ref is in every path already.
async fn config_at(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    svc.resolve(&reference).await?;
    Ok(Json(
        json!({"defaults": {}, "overrides": {}, "endpoints": ENDPOINTS}),
    ))
}

/// A namespace as a path segment (levels joined by the unit separator) or a JSON array:
/// bayou's namespaces are one level.
fn namespace_of(levels: &[String]) -> Result<String, RestError> {
    match levels {
        [one] => Ok(one.clone()),
        _ => Err(RestError::bad_request(format!(
            "namespace {levels:?} has {} levels: bayou's namespaces have one",
            levels.len()
        ))),
    }
}

fn namespace_in_path(segment: &str) -> Result<String, RestError> {
    let levels: Vec<String> = segment.split('\u{1f}').map(str::to_string).collect();
    namespace_of(&levels)
}

/// A table identifier as the protocol sends it in bodies.
#[derive(Deserialize)]
struct Identifier {
    namespace: Vec<String>,
    name: String,
}

impl Identifier {
    fn key(self) -> Result<TableKey, RestError> {
        key_of(namespace_of(&self.namespace)?, self.name)
    }
}

fn key_of(namespace: String, table: String) -> Result<TableKey, RestError> {
    TableKey::new(namespace, table).map_err(|e| RestError::bad_request(e.to_string()))
}

/// A write's ref must be a branch: a tag or commit is refused, saying why.
async fn branch_of(svc: &Embedded, reference: &str) -> Result<String, RestError> {
    let resolved = svc.resolve(reference).await?;
    match resolved.branch() {
        Some(_) => Ok(reference.to_string()),
        None => Err(RestError(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            format!(
                "'{reference}' is not a branch: it is read-only here\n  hint: write to a branch (`bayou branch create NAME --from {reference}`), then point the catalog's warehouse at it"
            ),
        )),
    }
}
