//! A lake root records the catalog it belongs to, in `_bayou/catalog.json`.
//!
//! Tables are files; which of them make up each branch lives in the catalog. Two catalogs over
//! one root would each be consistent and together wrong (two people on one bucket seeing two
//! lakes). So the first catalog to open a root claims it (a create-if-absent write), and any
//! other catalog is refused with what to do instead.

use bayou_catalog::Catalog;
use serde::{Deserialize, Serialize};

use crate::storage::LakeStorage;
use crate::{Error, Result};

const MARKER: &str = "_bayou/catalog.json";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    catalog_id: String,
}

/// Claims the lake at `storage` for `catalog`, or checks that it is already its own.
pub(crate) async fn claim(storage: &LakeStorage, catalog: &Catalog, lake: &str) -> Result<()> {
    let ours = catalog.id().await?;
    let location = storage.location(MARKER);
    for _ in 0..2 {
        match storage.read(&location).await {
            Ok(bytes) => {
                let marker: Marker =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                        what: location.clone(),
                        detail: e.to_string(),
                    })?;
                if marker.catalog_id == ours {
                    return Ok(());
                }
                return Err(Error::CatalogMismatch {
                    lake: lake.to_string(),
                    theirs: marker.catalog_id,
                    ours,
                });
            }
            Err(Error::Storage {
                source: object_store::Error::NotFound { .. },
                ..
            }) => {
                let body = serde_json::to_vec(&Marker {
                    catalog_id: ours.clone(),
                })
                .expect("the marker serializes");
                match storage.create(&location, body).await {
                    Ok(()) => return Ok(()),
                    // Another process claimed it first: read whose it is.
                    Err(Error::Storage {
                        source: object_store::Error::AlreadyExists { .. },
                        ..
                    }) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Internal(format!(
        "{location} appeared and vanished while this lake was opened"
    )))
}
