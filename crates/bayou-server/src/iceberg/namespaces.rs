//! Namespaces: list, create, load, drop. bayou's namespaces are shared by every ref, so the
//! ref in the path is checked (it must exist) but does not scope them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bayou_service::Service;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Answer, RestError, caller, namespace_in_path, namespace_of};
use crate::auth::Auth;

pub(super) async fn list(
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

/// A namespace to create; its properties are not kept (bayou's namespaces have none).
#[derive(Deserialize)]
pub(super) struct NewNamespace {
    namespace: Vec<String>,
}

/// `POST .../namespaces`: 409 when it exists.
pub(super) async fn create(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(new): Json<NewNamespace>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    svc.resolve(&reference).await?;
    let name = namespace_of(&new.namespace)?;
    if !svc.create_namespace(&name).await? {
        return Err(RestError(
            StatusCode::CONFLICT,
            "AlreadyExistsException",
            format!("namespace '{name}' exists already"),
        ));
    }
    Ok(Json(json!({"namespace": [name], "properties": {}})))
}

pub(super) async fn load(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
) -> Answer {
    let svc = caller(&auth, &headers).await?;
    svc.resolve(&reference).await?;
    let namespace = namespace_in_path(&namespace)?;
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

/// `DELETE .../namespaces/{namespace}`: only an empty one (no table in it on any branch),
/// else 409 naming the tables.
pub(super) async fn drop(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Path((reference, namespace)): Path<(String, String)>,
) -> Result<StatusCode, RestError> {
    let svc = caller(&auth, &headers).await?;
    svc.resolve(&reference).await?;
    let namespace = namespace_in_path(&namespace)?;
    match svc.delete_namespace(&namespace).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e @ bayou_service::Error::Catalog(bayou_catalog::Error::NamespaceNotEmpty { .. })) => {
            Err(RestError(
                StatusCode::CONFLICT,
                "NamespaceNotEmptyException",
                e.to_string(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
