//! Verifying a CI job's OIDC token: pinned algorithms, issuer, audience, expiry, not-before,
//! issued-at, and the claims the rest of the exchange needs. Every refusal says why.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{errors::ErrorKind, DecodingKey, Validation};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::jwks::{JwksCache, JwksUnavailable};
use crate::{audit::bounds::cut_str, config::CiIssuer};

/// Tokens above this size are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Longest `sub` accepted: it names the principal (an indexed column, capped at 512 bytes in
/// audit events), so a longer one is refused rather than cut.
pub const MAX_SUBJECT_BYTES: usize = 512;
/// Longest `jti` accepted (it is stored until the token expires, to refuse replays).
pub const MAX_JTI_BYTES: usize = 256;
/// Longest string claim of any other name, and most claims a token may carry: within these, the
/// claims are recorded in audit events uncut.
pub const MAX_CLAIM_BYTES: usize = 512;
pub const MAX_CLAIMS: usize = 64;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 30;

/// A verified CI job.
#[derive(Debug, Clone)]
pub struct CiIdentity {
    pub issuer: CiIssuer,
    pub subject: String,
    pub jti: String,
    pub expires_at: OffsetDateTime,
    pub claims: Map<String, Value>,
}

impl CiIdentity {
    /// Until when the token's `jti` must be remembered to refuse a replay: as long as [`verify`]
    /// would still accept the token, its expiry plus the clock leeway, plus the second that
    /// jsonwebtoken's whole-second clock adds (it accepts while `now - leeway <= exp`, `now`
    /// rounded down).
    pub fn replay_window_end(&self) -> OffsetDateTime {
        self.expires_at + std::time::Duration::from_secs(LEEWAY_SECONDS + 1)
    }
}

/// Why a CI token was refused.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    /// The token is not acceptable: 401 with this reason.
    #[error("{0}")]
    Invalid(String),
    /// The issuer's keys cannot be fetched: 503, fail closed.
    #[error(transparent)]
    Unavailable(#[from] JwksUnavailable),
}

fn invalid(reason: impl Into<String>) -> CiError {
    CiError::Invalid(reason.into())
}

/// Decodes one base64url JWT segment into a JSON object.
fn segment(part: &str, what: &str) -> Result<Map<String, Value>, CiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid(format!("the token's {what} is not base64url")))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| invalid(format!("the token's {what} is not JSON")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(invalid(format!("the token's {what} is not a JSON object"))),
    }
}

/// Verifies `token` against the configured issuers.
pub async fn verify(
    issuers: &[CiIssuer],
    jwks: &JwksCache,
    token: &str,
    now: OffsetDateTime,
) -> Result<CiIdentity, CiError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("the token is larger than 16 KB"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(invalid(
            "not a signed JWT (expected three non-empty dot-separated parts)",
        ));
    }
    let header = segment(parts[0], "header")?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if alg.eq_ignore_ascii_case("none") {
        return Err(invalid("unsigned tokens (alg: none) are refused"));
    }
    // The payload is read unverified only to pick the issuer whose keys must verify it.
    let unverified = segment(parts[1], "payload")?;
    let iss = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the token has no `iss` claim"))?;
    let issuer = issuers.iter().find(|i| i.issuer == iss).ok_or_else(|| {
        invalid(format!(
            "`{}` is not a configured CI issuer",
            cut_str(iss, 128)
        ))
    })?;
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("the token's header is malformed"))?;
    if !issuer.algorithms.contains(&header.alg) {
        return Err(invalid(format!(
            "algorithm {:?} is not accepted for CI issuer `{}`",
            header.alg, issuer.name
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| invalid("the token's header names no key (`kid`)"))?;
    let jwk = jwks.key(issuer, &kid).await?.ok_or_else(|| {
        invalid(format!(
            "CI issuer `{}` publishes no key `{kid}`",
            issuer.name
        ))
    })?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| invalid(format!("key `{kid}` of the issuer is unusable")))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_audience(&issuer.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| {
            invalid(match e.kind() {
                ErrorKind::InvalidSignature => {
                    "the signature does not verify with the issuer's key".to_owned()
                }
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidAudience => format!(
                    "the token's audience is not one this server accepts ({})",
                    issuer.audiences.join(", ")
                ),
                ErrorKind::InvalidIssuer => "the token's issuer does not match".to_owned(),
                ErrorKind::MissingRequiredClaim(c) => format!("the token has no `{c}` claim"),
                ErrorKind::InvalidAlgorithm => {
                    "the key does not match the token's algorithm".to_owned()
                }
                // Header and payload decoded above: only the signature is left to fail.
                ErrorKind::Base64(_) => "the token's signature is not base64url".to_owned(),
                _ => "the token is malformed".to_owned(),
            })
        })?
        .claims;
    // jsonwebtoken's required-claims check does not cover `iat`: a missing one is caught here.
    let iat = match claims.get("iat") {
        None => return Err(invalid("the token has no `iat` claim")),
        Some(v) => v.as_i64().ok_or_else(|| invalid("`iat` is not a number"))?,
    };
    if iat > now.unix_timestamp() + LEEWAY_SECONDS as i64 {
        return Err(invalid("the token was issued in the future (iat)"));
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("the token has no `{name}` claim")))
    };
    check_sizes(&claims)?;
    let subject = text("sub")?;
    let jti = text("jti")?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let expires_at =
        OffsetDateTime::from_unix_timestamp(exp).map_err(|_| invalid("`exp` is out of range"))?;
    Ok(CiIdentity {
        issuer: issuer.clone(),
        subject,
        jti,
        expires_at,
        claims,
    })
}

/// Refuses a verified token whose claims exceed what this server records: too many claims, or a
/// string claim (at any depth) longer than its limit. The refusal names the claim.
fn check_sizes(claims: &Map<String, Value>) -> Result<(), CiError> {
    if claims.len() > MAX_CLAIMS {
        return Err(invalid(format!(
            "the token has {} claims; at most {MAX_CLAIMS} are accepted",
            claims.len()
        )));
    }
    for (name, value) in claims {
        let limit = match name.as_str() {
            "sub" => MAX_SUBJECT_BYTES,
            "jti" => MAX_JTI_BYTES,
            _ => MAX_CLAIM_BYTES,
        };
        if name.len() > MAX_CLAIM_BYTES || longest_string(value) > limit {
            return Err(invalid(format!(
                "the token's `{}` claim is longer than {limit} bytes",
                cut_str(name, 64)
            )));
        }
    }
    Ok(())
}

/// The longest string in `value`, keys included, at any depth.
fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| k.len().max(longest_string(v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests;
