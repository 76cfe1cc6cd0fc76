//! Raw token crafting for attack tests: unsigned, HMAC-signed, tampered or malformed JWTs.

use super::*;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature` from raw parts: `payload` is encoded as given (any bytes, not
/// necessarily JSON); `signature` is used verbatim.
pub fn raw_jwt(header: &Value, payload: &[u8], signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header.to_string()), b64(payload))
}

/// `claims` with `alg: none` and an empty signature.
pub fn unsigned(claims: &Value) -> String {
    raw_jwt(
        &json!({"alg": "none", "typ": "JWT"}),
        claims.to_string().as_bytes(),
        "",
    )
}

/// `claims` signed with HS256 using `secret` (e.g. the issuer's public key PEM).
pub fn hs256(kid: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("HS256")
}

/// `token` with its payload replaced by `change(payload)` and the original signature kept.
pub fn tampered(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("payload is base64url"),
    )
    .expect("payload is JSON");
    change(&mut payload);
    format!("{}.{}.{}", parts[0], b64(payload.to_string()), parts[2])
}
