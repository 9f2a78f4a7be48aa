//! Tables: list, load, create (at once or staged), commit, drop, rename, register, and
//! multi-table transactions. Every write is one catalog commit on the ref, which must be a
//! branch.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bayou_lake::{TableChange, TableVersion};
use bayou_service::Service;
use bayou_types::TableKey;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Answer, Identifier, RestError, branch_of, caller, key_of, namespace_in_path};
use crate::auth::Auth;

pub(super) async fn list(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let namespace = namespace_in_path(&namespace)?;
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

/// `GET .../tables/{table}`: the table's metadata as the ref holds it.
pub(super) async fn load(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace, table)): Path<(String, String, String)>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let key = key_of(namespace_in_path(&namespace)?, table)?;
    let at = svc.resolve(&reference).await?.commit;
    let version = svc.lake().table_at(at.as_str(), &key).await?;
    loaded(&key, &version)
}

/// A table an outside engine creates. A location of the client's choosing is refused: bayou
/// places tables in its lake.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct CreateTable {
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

/// `POST .../tables`: an empty table in the lake, one catalog commit on the branch; or, with
/// `stage-create`, its metadata only (the engine's `assert-create` commit makes it).
pub(super) async fn create(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
    Json(create): Json<CreateTable>,
) -> Answer {
    if create.location.is_some() {
        return Err(RestError(
            StatusCode::NOT_ACCEPTABLE,
            "UnsupportedOperationException",
            "a table location of the client's choosing is not taken: bayou places tables in its lake\n  hint: create the table without a location".into(),
        ));
    }
    let svc = caller(&auth, &headers).await?;
    let branch = branch_of(&svc, &reference).await?;
    let key = key_of(namespace_in_path(&namespace)?, create.name)?;
    let table = bayou_lake::NewTable {
        schema: create.schema,
        partition_spec: create.partition_spec,
        sort_order: create.write_order,
        properties: create.properties,
    };
    if create.stage_create {
        let metadata = svc.lake().stage_for_engine(&branch, &key, table).await?;
        return Ok(Json(json!({
            "metadata-location": null,
            "metadata": encode(&key, &metadata)?,
            "config": {},
        })));
    }
    let made = svc.lake().create_for_engine(&branch, &key, table).await?;
    only_table(&key, made)
}

/// A table commit from an outside engine: requirements, then updates.
#[derive(Deserialize)]
pub(super) struct CommitTable {
    #[serde(default)]
    identifier: Option<Identifier>,
    #[serde(default)]
    requirements: Vec<bayou_lake::TableRequirement>,
    #[serde(default)]
    updates: Vec<bayou_lake::TableUpdate>,
}

/// `POST .../tables/{table}`: one catalog commit on the branch, if the table is still as the
/// engine read it (else 409, and the engine retries). With `assert-create`, it makes a staged
/// table.
pub(super) async fn commit(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace, table)): Path<(String, String, String)>,
    Json(commit): Json<CommitTable>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let branch = branch_of(&svc, &reference).await?;
    let key = key_of(namespace_in_path(&namespace)?, table)?;
    if let Some(named) = commit.identifier {
        let named = named.key()?;
        if named != key {
            return Err(RestError::bad_request(format!(
                "the commit names {named} but its path is {key}"
            )));
        }
    }
    let change = TableChange {
        key: key.clone(),
        requirements: commit.requirements,
        updates: commit.updates,
    };
    let made = svc.lake().commit_changes(&branch, vec![change]).await?;
    only_table(&key, made)
}

/// Several tables' commits at once.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct CommitTransaction {
    table_changes: Vec<CommitTable>,
}

/// `POST .../transactions/commit`: every table's change in one catalog commit on the branch,
/// or none of them (409 when any table moved since the engine read it).
pub(super) async fn commit_transaction(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(transaction): Json<CommitTransaction>,
) -> Result<StatusCode, RestError> {
    let svc = caller(&auth, &headers).await?;
    let branch = branch_of(&svc, &reference).await?;
    let mut changes = Vec::with_capacity(transaction.table_changes.len());
    for change in transaction.table_changes {
        let Some(identifier) = change.identifier else {
            return Err(RestError::bad_request(
                "every change of a transaction names its table (`identifier`)",
            ));
        };
        changes.push(TableChange {
            key: identifier.key()?,
            requirements: change.requirements,
            updates: change.updates,
        });
    }
    if changes.is_empty() {
        return Err(RestError::bad_request("the transaction changes no table"));
    }
    svc.lake().commit_changes(&branch, changes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../tables/{table}`: the table leaves the branch; its files stay for other refs.
pub(super) async fn drop(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace, table)): Path<(String, String, String)>,
) -> Result<StatusCode, RestError> {
    let svc = caller(&auth, &headers).await?;
    let branch = branch_of(&svc, &reference).await?;
    let key = key_of(namespace_in_path(&namespace)?, table)?;
    svc.drop_table(&branch, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct Rename {
    source: Identifier,
    destination: Identifier,
}

/// `POST .../tables/rename`: one catalog commit; 404 when the source is gone, 409 when the
/// destination exists.
pub(super) async fn rename(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(rename): Json<Rename>,
) -> Result<StatusCode, RestError> {
    let svc = caller(&auth, &headers).await?;
    let branch = branch_of(&svc, &reference).await?;
    let (from, to) = (rename.source.key()?, rename.destination.key()?);
    svc.lake().rename_table(&branch, &from, &to).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct Register {
    name: String,
    metadata_location: String,
    #[serde(default)]
    overwrite: bool,
}

/// `POST .../namespaces/{namespace}/register`: an Iceberg table whose metadata file is in the
/// lake's own storage becomes a table of the branch. A file anywhere else is refused: the
/// server reads nothing on a caller's behalf outside its lake.
pub(super) async fn register(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
    Json(register): Json<Register>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    let branch = branch_of(&svc, &reference).await?;
    let key = key_of(namespace_in_path(&namespace)?, register.name)?;
    let lake = svc.lake();
    if !lake.storage().contains(&register.metadata_location) {
        return Err(RestError::bad_request(format!(
            "'{}' is not in this lake's storage ({}): only tables there can be registered",
            register.metadata_location,
            lake.storage().location("")
        )));
    }
    // Every file the registered table names must be in the lake too, not just its metadata.
    let named = lake.load_version(&register.metadata_location).await?;
    lake.check_files_in_lake(&key, &named.metadata).await?;
    lake.register_table(
        &branch,
        &key,
        &register.metadata_location,
        register.overwrite,
    )
    .await?;
    let version = lake.table_at(&branch, &key).await?;
    loaded(&key, &version)
}

/// The answer of a write that made one table.
fn only_table(key: &TableKey, made: bayou_lake::EngineCommit) -> Answer {
    match made.tables.first() {
        Some(version) => loaded(key, version),
        None => Err(RestError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            format!("the commit of {key} made no table"),
        )),
    }
}

fn loaded(key: &TableKey, version: &TableVersion) -> Answer {
    Ok(Json(json!({
        "metadata-location": version.metadata_location,
        "metadata": encode(key, version.metadata.as_ref())?,
        "config": {},
    })))
}

fn encode(key: &TableKey, metadata: &bayou_lake::TableMetadata) -> Result<Value, RestError> {
    serde_json::to_value(metadata).map_err(|e| {
        RestError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            format!("encoding the metadata of {key}: {e}"),
        )
    })
}
