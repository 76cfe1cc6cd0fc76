//! Refusals of requests that name no authenticated caller (`POST /oauth/token`: unknown
//! clients, malformed forms, bad, expired or replayed codes, refresh tokens and device codes,
//! junk CI tokens; `POST /oauth/device`: unknown clients; `POST /device`: unknown user codes).
//! Each is one small audit event (`oauth_refused`, or `ci_exchange` for a token exchange),
//! written through [`write`]: the one place such refusals pass, so a rate limiter can sum a
//! flooding source's refusals there instead.
//!
//! A presented secret is never stored: only its length and the first 12 hex digits of its
//! SHA-256 (enough to tell repeats apart, far too little to recover or replay it).

use sha2::{Digest, Sha256};

use crate::{
    audit::{bounds::cut_str, AuditEvent, Outcome},
    clock,
    error::{OAuthCode, OAuthError},
    request_meta::RequestMeta,
    state::AppState,
    trail::writer::WriteFailed,
};

/// Hex digits of a presented secret's SHA-256 kept in its event.
const HASH_PREFIX: usize = 12;
/// Bytes kept of the reason, and of the grant type and client id a request names: a refusal's
/// event stays well under 2 KB whatever the request carried.
const REASON_BYTES: usize = 256;
const NAME_BYTES: usize = 64;

/// What a refused request presented, as far as its event records it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt<'a> {
    /// The endpoint refusing (`/oauth/token` when empty).
    pub endpoint: &'static str,
    pub grant: Option<&'a str>,
    pub client_id: Option<&'a str>,
    /// The code, refresh token or device code presented (recorded by length and hash prefix).
    pub presented: Option<&'a str>,
    /// How the client authenticated (`none`, `client_secret_basic`, `client_secret_post`); the
    /// secret itself is never recorded.
    pub client_auth: Option<&'static str>,
}

/// Commits the event of a refused request.
pub async fn write(state: &AppState, event: AuditEvent) -> Result<(), WriteFailed> {
    state.audit.write(event).await
}

/// Records `error` as an `oauth_refused` event and gives it back, or the audit failure (503)
/// when the event cannot be committed. Answers that are no refusal (authorization pending,
/// slow down, unavailable) pass unrecorded.
pub async fn refused(
    state: &AppState,
    meta: &RequestMeta,
    attempt: Attempt<'_>,
    error: OAuthError,
) -> OAuthError {
    if !is_refusal(error.code) {
        return error;
    }
    let endpoint = match attempt.endpoint {
        "" => "/oauth/token",
        other => other,
    };
    let mut event = AuditEvent::new("oauth_refused", Outcome::Denied, meta, clock::now())
        .reason(cut_str(&error.description, REASON_BYTES))
        .detail("endpoint", endpoint)
        .detail("code", error.code.as_str());
    if let Some(grant) = attempt.grant {
        event = event.detail("grant_type", cut_str(grant, NAME_BYTES));
    }
    if let Some(client_id) = attempt.client_id {
        event = event.detail("client_id", cut_str(client_id, NAME_BYTES));
    }
    if let Some(method) = attempt.client_auth {
        event = event.detail("client_auth", method);
    }
    if let Some(secret) = attempt.presented {
        event = describe_secret(event, "presented", secret);
    }
    match write(state, event).await {
        Ok(()) => error,
        Err(e) => e.into(),
    }
}

/// [`refused`] on the error of `result`, if any.
pub async fn audited<T>(
    state: &AppState,
    meta: &RequestMeta,
    attempt: Attempt<'_>,
    result: Result<T, OAuthError>,
) -> Result<T, OAuthError> {
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(refused(state, meta, attempt, e).await),
    }
}

/// Records that `user_code` was not a pending device login's code (`POST /device`).
pub async fn user_code_refused(
    state: &AppState,
    meta: &RequestMeta,
    user_code: &str,
) -> Result<(), WriteFailed> {
    let event = AuditEvent::new("oauth_refused", Outcome::Denied, meta, clock::now())
        .reason("the user code is not valid or has expired")
        .detail("endpoint", "/device")
        .detail("code", OAuthCode::InvalidGrant.as_str());
    write(state, describe_secret(event, "presented", user_code)).await
}

/// Adds `{key}_bytes` and `{key}_sha256` (a prefix) for a presented secret.
pub fn describe_secret(event: AuditEvent, key: &str, secret: &str) -> AuditEvent {
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    event
        .detail(&format!("{key}_bytes"), secret.len())
        .detail(&format!("{key}_sha256"), &hash[..HASH_PREFIX])
}

fn is_refusal(code: OAuthCode) -> bool {
    !matches!(
        code,
        OAuthCode::AuthorizationPending
            | OAuthCode::SlowDown
            | OAuthCode::TemporarilyUnavailable
            | OAuthCode::ServerError
    )
}
