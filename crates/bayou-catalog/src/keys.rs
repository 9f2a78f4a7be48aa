//! API keys: `bayou_<id>_<secret>`, made once, stored as the SHA-256 of the secret.
//!
//! The secret has 244 random bits, so a plain hash is enough (no password stretching); the id
//! finds the row without scanning, and the comparison of hashes takes constant time.

use sha2::{Digest, Sha256};

use crate::model::{ApiKey, KeyKind};
use crate::{Catalog, Error, Result, now_ms};

const PREFIX: &str = "bayou_";

/// A new key: its record and the one-time text of the key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key: ApiKey,
    /// Shown once to whoever made the key; never stored.
    pub token: String,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `bayou_<id>_<secret>`.
fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some((id, secret))
}

impl Catalog {
    /// Makes a key of `kind` for `user` (for a worker key, the worker's name).
    pub async fn create_api_key(&self, user: &str, kind: KeyKind) -> Result<NewApiKey> {
        bayou_types::validate_name("user", user)?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let key = ApiKey {
            id: id.clone(),
            user: user.to_string(),
            secret_hash: hash(&secret),
            created_ms: now_ms(),
            revoked_ms: None,
            admin: kind == KeyKind::Admin,
            worker: kind == KeyKind::Worker,
        };
        self.store().create_api_key(&key).await?;
        Ok(NewApiKey {
            key,
            token: format!("{PREFIX}{id}_{secret}"),
        })
    }

    /// The key a token is, or `None` for a malformed, unknown or revoked key.
    pub async fn authenticate(&self, token: &str) -> Result<Option<ApiKey>> {
        let Some((id, secret)) = parse(token.trim()) else {
            return Ok(None);
        };
        let Some(key) = self.store().get_api_key(id).await? else {
            return Ok(None);
        };
        let matches =
            bayou_types::constant_time_eq(hash(secret).as_bytes(), key.secret_hash.as_bytes());
        Ok((matches && key.revoked_ms.is_none()).then_some(key))
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.store().list_api_keys().await
    }

    /// Revokes a key by its id (or by the whole key text).
    pub async fn revoke_api_key(&self, id_or_token: &str) -> Result<()> {
        let id = parse(id_or_token).map_or(id_or_token, |(id, _)| id);
        if self.store().revoke_api_key(id, now_ms()).await? {
            return Ok(());
        }
        match self.store().get_api_key(id).await? {
            Some(_) => Ok(()), // revoked already: the state asked for holds
            None => Err(Error::UnknownApiKey(id.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_keys_parse() {
        assert_eq!(parse("bayou_ab12_cd34"), Some(("ab12", "cd34")));
        for bad in [
            "",
            "bayou_",
            "bayou_ab",
            "bayou__cd",
            "bayou_ab_",
            "x_ab_cd",
            "bayou_a'b_cd",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
