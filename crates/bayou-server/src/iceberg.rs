//! The Iceberg REST catalog at `/iceberg`, so that engines that speak it (pyiceberg, DuckDB,
//! Spark, Trino) read bayou's tables at any ref.
//!
//! A ref is picked by the catalog's `warehouse` (returned as the `prefix` of every later path:
//! `/iceberg/v1/{ref}/namespaces/...`) or by the URI itself (`/iceberg/{ref}/v1/...`). The API
//! key is the Bearer token. Loading a table answers the metadata file that ref holds, so a
//! reader at a tag or commit sees the table as it was. A table commit (an engine's append) is
//! one catalog commit on the branch, checked against the table's state when the engine read
//! it; a created table lives in the lake's own storage. Trade-off: dropping, renaming and
//! registering tables, staged creates and multi-table transactions are not served yet (refused
//! with a clear error).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bayou_service::{Embedded, ErrorKind, Service};
use bayou_types::TableKey;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auth;

/// The catalog's routes, to nest at `/iceberg`.
pub(crate) fn router(auth: Auth) -> axum::Router {
    let api = axum::Router::new()
        .route("/namespaces", get(list_namespaces).post(read_only))
        .route(
            "/namespaces/{namespace}",
            get(load_namespace).head(load_namespace).delete(read_only),
        )
        .route(
            "/namespaces/{namespace}/tables",
            get(list_tables).post(create_table),
        )
        .route(
            "/namespaces/{namespace}/tables/{table}",
            get(load_table)
                .head(load_table)
                .post(commit_table)
                .delete(read_only),
        )
        .route("/transactions/commit", axum::routing::post(read_only))
        .route("/tables/rename", axum::routing::post(read_only));
    axum::Router::new()
        .route("/v1/config", get(config))
        .route("/{reference}/v1/config", get(config_at))
        // `/v1/{ref}/...` (the warehouse as prefix) and `/{ref}/v1/...` (the ref in the URI).
        .nest("/v1/{reference}", api.clone())
        .nest("/{reference}/v1", api)
        .with_state(auth)
}

/// An Iceberg REST error: `{"error": {"message", "type", "code"}}`.
struct RestError(StatusCode, &'static str, String);

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
            ErrorKind::InvalidArgument | ErrorKind::Usage => {
                (StatusCode::BAD_REQUEST, "BadRequestException")
            }
            ErrorKind::Conflict => (StatusCode::CONFLICT, "CommitFailedException"),
            ErrorKind::NotABranch => (StatusCode::BAD_REQUEST, "BadRequestException"),
            ErrorKind::TableExists => (StatusCode::CONFLICT, "AlreadyExistsException"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "ServerError"),
        };
        RestError(code, kind, e.to_string())
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

/// What this catalog serves, as clients ask (`endpoints` in the config).
const ENDPOINTS: [&str; 8] = [
    "GET /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
];

/// A namespace path segment: bayou's namespaces are one level (`a.b` is refused by name rules).
fn namespace_of(segment: &str) -> String {
    segment.replace('\u{1f}', ".")
}

async fn list_namespaces(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    svc.resolve(&reference).await?;
    let names: Vec<Value> = svc
        .list_namespaces()
        .await?
        .into_iter()
        .map(|n| json!([n.name]))
        .collect();
    Ok(Json(json!({"namespaces": names})))
}

async fn load_namespace(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((_reference, namespace)): Path<(String, String)>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let namespace = namespace_of(&namespace);
    if !svc
        .list_namespaces()
        .await?
        .iter()
        .any(|n| n.name == namespace)
    {
        let unknown = bayou_catalog::Error::UnknownNamespace(namespace);
        return Err(bayou_service::Error::from(unknown).into());
    }
    Ok(Json(json!({"namespace": [namespace], "properties": {}})))
}

async fn list_tables(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let namespace = namespace_of(&namespace);
    let at = svc.resolve(&reference).await?.commit;
    let identifiers: Vec<Value> = svc
        .list_tables(&at)
        .await?
        .into_iter()
        .filter(|(key, _)| key.namespace == namespace)
        .map(|(key, _)| json!({"namespace": [key.namespace], "name": key.name}))
        .collect();
    Ok(Json(json!({"identifiers": identifiers})))
}

/// A table an outside engine creates (`stage-create` and a location of its own are refused).
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CreateTable {
    name: String,
    schema: bayou_lake::IcebergSchema,
    #[serde(default)]
    partition_spec: Option<bayou_lake::UnboundPartitionSpec>,
    #[serde(default)]
    write_order: Option<bayou_lake::SortOrder>,
    #[serde(default)]
    properties: std::collections::HashMap<String, String>,
    #[serde(default)]
    stage_create: bool,
    #[serde(default)]
    location: Option<String>,
}

/// `POST .../tables`: an empty table in the lake, one catalog commit on the ref (a branch).
async fn create_table(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
    Json(create): Json<CreateTable>,
) -> Answer {
    let unsupported = |what: &str| {
        RestError(
            StatusCode::NOT_ACCEPTABLE,
            "UnsupportedOperationException",
            format!(
                "{what} is not served: bayou places tables in its lake and creates them at once"
            ),
        )
    };
    if create.stage_create {
        return Err(unsupported("stage-create"));
    }
    if create.location.is_some() {
        return Err(unsupported("a table location of the client's choosing"));
    }
    let svc = caller(&auth, &headers).await?;
    let key = key_of(&namespace, create.name)?;
    let table = bayou_lake::NewTable {
        schema: create.schema,
        partition_spec: create.partition_spec,
        sort_order: create.write_order,
        properties: create.properties,
    };
    let (_, version) = svc
        .lake()
        .create_for_engine(&reference, &key, table)
        .await
        .map_err(bayou_service::Error::from)?;
    Ok(Json(json!({
        "metadata-location": version.metadata_location,
        "metadata": metadata_json(&key, &version)?,
        "config": {},
    })))
}

/// A table commit from an outside engine: requirements, then updates.
#[derive(Deserialize)]
struct CommitTable {
    #[serde(default)]
    requirements: Vec<bayou_lake::TableRequirement>,
    #[serde(default)]
    updates: Vec<bayou_lake::TableUpdate>,
}

/// `POST .../tables/{table}`: one catalog commit on the ref (a branch), if the table is still
/// as the engine read it (else 409, and the engine retries).
async fn commit_table(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace, table)): Path<(String, String, String)>,
    Json(commit): Json<CommitTable>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let key = key_of(&namespace, table)?;
    let (_, version) = svc
        .lake()
        .commit_updates(&reference, &key, &commit.requirements, commit.updates)
        .await
        .map_err(bayou_service::Error::from)?;
    Ok(Json(json!({
        "metadata-location": version.metadata_location,
        "metadata": metadata_json(&key, &version)?,
    })))
}

fn key_of(namespace: &str, table: String) -> Result<TableKey, RestError> {
    TableKey::new(namespace_of(namespace), table).map_err(|e| {
        RestError(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            e.to_string(),
        )
    })
}

fn metadata_json(key: &TableKey, version: &bayou_lake::TableVersion) -> Result<Value, RestError> {
    serde_json::to_value(version.metadata.as_ref()).map_err(|e| {
        RestError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            format!("encoding the metadata of {key}: {e}"),
        )
    })
}

/// Writes this catalog does not serve yet: a clear error rather than a bare 405.
async fn read_only() -> RestError {
    RestError(
        StatusCode::NOT_ACCEPTABLE,
        "UnsupportedOperationException",
        "bayou's Iceberg REST catalog does not drop, rename or register tables, nor commit several at once, yet\n  hint: do it with bayou (`bayou table rm`, or a project's models)".into(),
    )
}

/// `GET .../tables/{table}`: the table's metadata as the ref holds it.
async fn load_table(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace, table)): Path<(String, String, String)>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let key = key_of(&namespace, table)?;
    let at = svc.resolve(&reference).await?.commit;
    let version = svc
        .lake()
        .table_at(at.as_str(), &key)
        .await
        .map_err(bayou_service::Error::from)?;
    let metadata = metadata_json(&key, &version)?;
    Ok(Json(json!({
        "metadata-location": version.metadata_location,
        "metadata": metadata,
        "config": {},
    })))
}
