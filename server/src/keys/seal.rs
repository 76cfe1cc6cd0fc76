//! Sealing secrets at rest with AES-256-GCM under a master key that lives only in the
//! environment or a file: never in the database, never in a log.
//!
//! A sealed value reads `v1:<master key id>:<nonce>:<ciphertext>` (base64url). The key id is the
//! first 8 bytes of SHA-256 of the key, so `keys rewrap` knows what each value was sealed under.
//! The associated data binds a value to its row (e.g. the access key id), so a ciphertext moved
//! to another row does not open.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

/// A 256-bit master key.
pub struct MasterKey {
    key: SecretBox<[u8; 32]>,
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Why a master key or a sealed value was refused (never containing key material).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the master key must be 32 bytes, given as base64 or 64 hex digits")]
    BadMasterKey,
    #[error("no master key: set VAULT_MASTER_KEY or VAULT_MASTER_KEY_FILE")]
    NoMasterKey,
    #[error("cannot read VAULT_MASTER_KEY_FILE {0}: {1}")]
    File(String, String),
    #[error(
        "value was sealed under master key {sealed_with}, but the master key given is {given}"
    )]
    WrongKey { sealed_with: String, given: String },
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this master key (tampered, or moved to another row)")]
    Tampered,
}

impl MasterKey {
    /// Parses base64 (standard or url-safe) or hex text of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .filter(|b| b.len() == 32)
            .or_else(|| STANDARD.decode(text).ok())
            .or_else(|| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok())
            .filter(|b| b.len() == 32)
            .ok_or(SealError::BadMasterKey)?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        let id = hex::encode(&Sha256::digest(key)[..8]);
        Ok(MasterKey {
            key: SecretBox::new(Box::new(key)),
            id,
        })
    }

    /// From `VAULT_MASTER_KEY`, else the file named by `VAULT_MASTER_KEY_FILE`.
    pub fn from_env() -> Result<Self, SealError> {
        Self::from_vars("VAULT_MASTER_KEY", "VAULT_MASTER_KEY_FILE")
    }

    /// From the given variable, else the file its `_FILE` twin names.
    pub fn from_vars(var: &str, file_var: &str) -> Result<Self, SealError> {
        if let Ok(text) = std::env::var(var) {
            return Self::parse(&text);
        }
        let path = std::env::var(file_var).map_err(|_| SealError::NoMasterKey)?;
        let text =
            std::fs::read_to_string(&path).map_err(|e| SealError::File(path, e.to_string()))?;
        Self::parse(&text)
    }

    /// Short public identifier of this key (not secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `secret`, bound to `context`.
    pub fn seal(&self, secret: &str, context: &str) -> String {
        let cipher = Aes256Gcm::new_from_slice(self.key.expose_secret()).expect("32-byte key");
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for small inputs");
        format!(
            "v1:{}:{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        )
    }

    /// Opens a value sealed with [`MasterKey::seal`] for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, SealError> {
        let parts: Vec<&str> = sealed.split(':').collect();
        let [version, key_id, nonce, ciphertext] = parts.as_slice() else {
            return Err(SealError::Malformed);
        };
        if *version != "v1" {
            return Err(SealError::Malformed);
        }
        if *key_id != self.id {
            return Err(SealError::WrongKey {
                sealed_with: (*key_id).to_owned(),
                given: self.id.clone(),
            });
        }
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| SealError::Malformed)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| SealError::Malformed)?;
        if nonce.len() != 12 {
            return Err(SealError::Malformed);
        }
        let cipher = Aes256Gcm::new_from_slice(self.key.expose_secret()).expect("32-byte key");
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SealError::Tampered)
    }
}

/// The master key id a sealed value records.
pub fn sealed_key_id(sealed: &str) -> Option<&str> {
    sealed.split(':').nth(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::parse(&hex::encode([byte; 32])).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_and_context() {
        let k = key(1);
        let sealed = k.seal("wJalrXUtnFEMI/K7MDENG", "AKIA1");
        assert!(!sealed.contains("wJalr"));
        assert_eq!(
            k.open(&sealed, "AKIA1").unwrap().expose_secret(),
            "wJalrXUtnFEMI/K7MDENG"
        );
        assert_eq!(sealed_key_id(&sealed), Some(k.id()));
    }

    #[test]
    fn another_key_or_context_or_a_flipped_bit_does_not_open() {
        let sealed = key(1).seal("secret", "AKIA1");
        assert!(matches!(
            key(2).open(&sealed, "AKIA1"),
            Err(SealError::WrongKey { .. })
        ));
        assert_eq!(
            key(1).open(&sealed, "AKIA2").unwrap_err(),
            SealError::Tampered
        );
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(key(1)
            .open(&String::from_utf8(bytes).unwrap(), "AKIA1")
            .is_err());
    }

    #[test]
    fn master_keys_parse_from_hex_and_base64_and_refuse_other_sizes() {
        let b64 = STANDARD.encode([7u8; 32]);
        assert_eq!(
            MasterKey::parse(&b64).unwrap().id(),
            MasterKey::parse(&hex::encode([7u8; 32])).unwrap().id()
        );
        assert_eq!(
            MasterKey::parse("c2hvcnQ=").unwrap_err(),
            SealError::BadMasterKey
        );
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let k = key(3);
        assert_ne!(k.seal("s", "c"), k.seal("s", "c"));
    }
}
