//! The userinfo endpoint, asked by hand (JSON answers only), size-bounded, and checked: its
//! `sub` must be the ID token's.

use serde_json::{Map, Value};

use super::error::{error_chain, UpstreamError};

/// The largest userinfo answer read.
const MAX_BODY: usize = 64 * 1024;

/// Userinfo's claims for `access_token`; `Gone` when the IdP no longer accepts the token (401).
pub(super) async fn fetch(
    http: &openidconnect::reqwest::Client,
    endpoint: &str,
    access_token: &str,
    subject: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let mut response = http
        .get(endpoint)
        .bearer_auth(access_token)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("userinfo: {}", error_chain(&e))))?;
    let status = response.status();
    if status == 401 || status == 403 {
        return Err(UpstreamError::Gone(format!(
            "userinfo answered {status}: the identity provider no longer accepts this login"
        )));
    }
    if !status.is_success() {
        return Err(UpstreamError::Unreachable(format!(
            "userinfo answered {status}"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("userinfo: {}", error_chain(&e))))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamError::Rejected(format!(
                "userinfo answer over {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let claims: Map<String, Value> = serde_json::from_slice(&body).map_err(|_| {
        UpstreamError::Rejected(
            "userinfo answer is not a JSON object (signed userinfo is not supported)".into(),
        )
    })?;
    if claims.get("sub").and_then(Value::as_str) != Some(subject) {
        return Err(UpstreamError::Refused {
            code: "userinfo_subject_mismatch",
            subject: subject.to_owned(),
            reason: "the identity provider's userinfo names another person than its ID token; the login was refused".into(),
        });
    }
    Ok(claims)
}
