//! Secret parameters: a value stored in the project file encrypted (AES-256-GCM) with a key the
//! lake's catalog keeps, so the file can be committed to git and only the lake can read it.
//!
//! Stored as `default: "bayou-secret:v1:<base64 of nonce + ciphertext>"` with `key: bayou-lake`.
//! The parameter's name is bound into the ciphertext: it cannot be moved to another parameter.
//! Once decrypted, a value is a [`Secret`], which prints and serializes as a digest only.

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use sha2::{Digest, Sha256};

const PREFIX: &str = "bayou-secret:v1:";
/// What `key:` says for values this module encrypted.
pub const KEY_NAME: &str = "bayou-lake";

/// A lake's secret key: 32 random bytes, kept by its catalog as hex.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A fresh random key, as hex.
    pub fn generate_hex() -> Result<String, String> {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| "the system's random generator failed".to_string())?;
        Ok(hex::encode(key))
    }

    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|e| format!("the lake's secret key is damaged: {e}"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the lake's secret key has the wrong length".to_string())?;
        Ok(Self(key))
    }

    fn aead(&self) -> LessSafeKey {
        // 32 bytes is AES-256's key length: this cannot fail.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("a 32-byte AES-256 key"))
    }

    /// `plaintext` encrypted for parameter `name`.
    pub fn encrypt(&self, name: &str, plaintext: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "the system's random generator failed".to_string())?;
        let mut data = plaintext.as_bytes().to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .map_err(|_| "encryption failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// The value of parameter `name` stored as `stored`.
    pub fn decrypt(&self, name: &str, stored: &str) -> Result<Secret, String> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Err(format!(
                "the value of secret parameter '{name}' was not encrypted by bayou (bauplan encrypts with its own keys)\n  hint: set it again: bayou parameter set {name} VALUE --type secret"
            ));
        };
        let damaged = || {
            format!(
                "the value of secret parameter '{name}' is damaged, or was encrypted for another lake or parameter\n  hint: set it again: bayou parameter set {name} VALUE --type secret"
            )
        };
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| damaged())?;
        if data.len() < NONCE_LEN {
            return Err(damaged());
        }
        let mut body = data.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&data).map_err(|_| damaged())?;
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut body)
            .map_err(|_| damaged())?;
        let plaintext = String::from_utf8(plain.to_vec()).map_err(|_| damaged())?;
        Ok(Secret::new(self, plaintext))
    }
}

/// A decrypted secret. Its plaintext goes only to the function that asks for it; everywhere
/// else (run records, `-O json`, fingerprints) it is a keyed digest, which changes when the
/// value does and reveals nothing of it.
#[derive(Clone, PartialEq)]
pub struct Secret {
    plaintext: String,
    digest: String,
}

impl Secret {
    /// A secret given in plaintext (`--param name=value`), keyed by the lake's key.
    pub fn new(key: &SecretKey, plaintext: String) -> Self {
        let digest = hex::encode(
            Sha256::new()
                .chain_update(key.0)
                .chain_update(plaintext.as_bytes())
                .finalize(),
        );
        Self {
            plaintext,
            digest: digest[..16].to_string(),
        }
    }

    pub fn plaintext(&self) -> &str {
        &self.plaintext
    }

    /// What stands for it in records and fingerprints.
    pub fn masked(&self) -> String {
        format!("secret:{}", self.digest)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_round_trips_only_for_its_parameter_and_key() {
        let key = SecretKey::from_hex(&SecretKey::generate_hex().unwrap()).unwrap();
        let stored = key.encrypt("api_token", "s3cr3t").unwrap();
        assert!(stored.starts_with(PREFIX) && !stored.contains("s3cr3t"));
        let secret = key.decrypt("api_token", &stored).unwrap();
        assert_eq!(secret.plaintext(), "s3cr3t");
        assert!(!serde_json::to_string(&secret).unwrap().contains("s3cr3t"));
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        // Another parameter, another key, a bauplan value: refused with a hint.
        assert!(
            key.decrypt("other", &stored)
                .unwrap_err()
                .contains("damaged")
        );
        let other = SecretKey::from_hex(&SecretKey::generate_hex().unwrap()).unwrap();
        assert!(other.decrypt("api_token", &stored).is_err());
        let bauplan = key.decrypt("api_token", "AQICAHh...").unwrap_err();
        assert!(bauplan.contains("not encrypted by bayou"), "{bauplan}");
        // Same value, same digest (fingerprints hold); another value, another digest.
        assert_eq!(Secret::new(&key, "s3cr3t".into()).masked(), secret.masked());
        assert_ne!(Secret::new(&key, "other".into()).masked(), secret.masked());
    }
}
