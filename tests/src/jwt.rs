//! Hand-made access tokens: forged, unsigned, or with one claim wrong.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use serde_json::Value;

fn decode_part(part: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .expect("JWT part is base64url");
    serde_json::from_slice(&bytes).expect("JWT part is JSON")
}

/// Header and claims of a JWT, without checking anything.
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = decode_part(parts.next().expect("header"));
    let claims = decode_part(parts.next().expect("claims"));
    (header, claims)
}

/// A fresh Ed25519 key pair as PKCS#8 DER (what `EncodingKey::from_ed_der` takes).
pub fn new_ed25519_pkcs8() -> Vec<u8> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .expect("ed25519 key")
        .as_ref()
        .to_vec()
}

/// Signs `claims` with EdDSA under `pkcs8`, naming `kid` in the header.
pub fn sign_ed25519(pkcs8: &[u8], kid: Option<String>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid;
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(pkcs8)).expect("sign")
}

/// The same claims and `kid` as `genuine`, signed by a key the server never saw.
pub fn forged_copy(genuine: &str) -> String {
    let (header, claims) = decode_unverified(genuine);
    let kid = header["kid"].as_str().map(str::to_owned);
    sign_ed25519(&new_ed25519_pkcs8(), kid, &claims)
}

/// The same claims as `genuine` with `alg: none` and an empty signature.
pub fn unsigned_copy(genuine: &str) -> String {
    let (mut header, claims) = decode_unverified(genuine);
    header["alg"] = Value::String("none".into());
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// `genuine` with its claims changed but its original signature kept (a tampered token).
pub fn tampered_copy(genuine: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut parts = genuine.split('.');
    let header = parts.next().expect("header");
    let mut claims = decode_part(parts.next().expect("claims"));
    let signature = parts.next().expect("signature");
    change(&mut claims);
    format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An Ed25519 key the test published in the server's `signing_keys` table, so the server
/// verifies its signatures: lets a test mint tokens correct in every way but one claim.
pub struct TrustedTestKey {
    pub kid: String,
    pkcs8: Vec<u8>,
}

impl TrustedTestKey {
    /// Signs `claims` (EdDSA, with this key's `kid`).
    pub fn sign(&self, claims: &Value) -> String {
        sign_ed25519(&self.pkcs8, Some(self.kid.clone()), claims)
    }
}

impl crate::TestApp {
    /// Publishes a fresh test key as a live signing key of this server (as another replica would).
    pub async fn trust_test_signing_key(&self) -> TrustedTestKey {
        use ring::signature::KeyPair;
        let pkcs8 = new_ed25519_pkcs8();
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).expect("own key parses");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let kid = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, public_key, created_at, retire_at) \
             VALUES ($1, 'EdDSA', $2, now(), now() + interval '1 day')",
        )
        .bind(&kid)
        .bind(&x)
        .execute(&self.db)
        .await
        .expect("publishing the test signing key");
        TrustedTestKey { kid, pkcs8 }
    }
}

/// Decodes base64url (padding optional).
pub fn b64url_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url")
}
