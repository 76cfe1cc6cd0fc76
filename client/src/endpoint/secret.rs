//! The endpoints' secrets: tokens and paths nobody can guess.

use rand::rngs::OsRng;
use rand::RngCore;

/// 256 random bits as 64 hex characters.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
