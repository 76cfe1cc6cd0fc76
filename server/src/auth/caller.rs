//! The `Caller` extractor: a bearer access token checked against its signature, its claims and
//! a live login session.

use axum::{extract::FromRequestParts, http::request::Parts};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    audit::{bounds::cut_str, AuditEvent, Outcome},
    clock,
    config::Config,
    db::sessions::ActiveSession,
    error::ApiError,
    limits,
    login::refusal,
    policy::Membership,
    principal::{Actor, Principal},
    request_meta::{ClientAddr, RequestMeta},
    state::AppState,
    tokens::TokenError,
};

/// An authenticated caller of the `/v1` API.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub groups: Vec<String>,
    pub session_id: Uuid,
    pub token_expires_at: OffsetDateTime,
    /// For CI jobs: the issuer name and verified claims the policy matches on.
    pub ci: Option<(String, serde_json::Map<String, serde_json::Value>)>,
}

impl Caller {
    /// What the policy decides on: groups for people, claims for CI jobs.
    pub fn membership(&self) -> Membership<'_> {
        match &self.ci {
            Some((issuer, claims)) => Membership::Ci { issuer, claims },
            None => Membership::Groups(&self.groups),
        }
    }

    /// Whom the audit trail names for what this caller does.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            principal: &self.principal,
            session_id: self.session_id,
        }
    }

    /// Whether the caller is in one of the configured admin groups.
    pub fn is_admin(&self, config: &Config) -> bool {
        self.groups.iter().any(|g| config.admin_groups.contains(g))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// Verifies the token, then counts the request against the principal's rate limit; a
    /// request without a valid token counts against its address instead: under the limit its
    /// refusal is one `bearer_refused` event, over it a 429 summed into `rate_limited`.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let addr = ClientAddr::of(parts);
        let kind = limits::kind(&parts.method, parts.uri.path());
        match Caller::authenticate(parts, state).await {
            Ok(caller) => {
                let limits = &state.limits;
                limits.check_principal(&caller.principal, addr, &kind)?;
                Ok(caller)
            }
            Err(refused @ ApiError::Unauthorized(_)) => {
                state.limits.check_address(addr, &kind)?;
                audit_refusal(parts, state, &kind, &refused).await?;
                Err(refused)
            }
            Err(other) => Err(other),
        }
    }
}

/// The most of the refusal's reason kept in its event.
const REASON_BYTES: usize = 256;

/// Commits the event of a refused bearer token: the request, the reason, and the token by its
/// length and a hash prefix only (see `login/refusal.rs`).
async fn audit_refusal(
    parts: &Parts,
    state: &AppState,
    kind: &str,
    refused: &ApiError,
) -> Result<(), ApiError> {
    let meta = RequestMeta::from_parts(parts);
    let mut event = AuditEvent::new("bearer_refused", Outcome::Denied, &meta, clock::now())
        .reason(cut_str(&refused.to_string(), REASON_BYTES))
        .detail("request", kind);
    if let Some(token) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        event = refusal::describe_secret(event, "presented", token);
    }
    Ok(refusal::write(state, event).await?)
}

/// A disabled principal's request: 403 `principal_disabled`, as an `access_refused` event.
async fn refuse_disabled(parts: &Parts, state: &AppState, session: &ActiveSession) -> ApiError {
    let message = format!(
        "{} was disabled by an admin; ask an admin to run `vault admin enable`",
        session.principal.display
    );
    let meta = RequestMeta::from_parts(parts);
    let event = AuditEvent::new("access_refused", Outcome::Denied, &meta, clock::now())
        .by(session.actor())
        .reason(&message)
        .detail("code", "principal_disabled")
        .detail("request", limits::kind(&parts.method, parts.uri.path()));
    match state.audit.write(event).await {
        Ok(()) => ApiError::Forbidden {
            code: "principal_disabled",
            message,
        },
        Err(e) => e.into(),
    }
}

impl Caller {
    /// The caller a bearer token names, if the token and its login session are valid.
    async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::Unauthorized("missing bearer token; run `vault login`".into())
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let now = clock::now();
        let claims = state
            .tokens
            .verify(token.trim(), now)
            .await
            .map_err(|e| match e {
                TokenError::Invalid(m) => {
                    tracing::info!(reason = %m, "access token refused");
                    ApiError::Unauthorized(format!("{m}; run `vault login`"))
                }
                TokenError::Db(db) => db.into(),
            })?;
        let session = state
            .sessions
            .find_active(&state.db, claims.sid, now)
            .await?
            .filter(|s| s.principal.id == claims.sub)
            .ok_or_else(|| {
                ApiError::Unauthorized("access token rejected: the login session was revoked or has expired; run `vault login`".into())
            })?;
        if session.disabled {
            return Err(refuse_disabled(parts, state, &session).await);
        }
        Ok(Caller {
            principal: session.principal,
            groups: session.groups,
            session_id: session.session_id,
            token_expires_at: OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now),
            ci: match (session.ci_issuer, session.ci_claims) {
                (Some(issuer), Some(serde_json::Value::Object(claims))) => Some((issuer, claims)),
                _ => None,
            },
        })
    }
}
