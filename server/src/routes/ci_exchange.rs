//! RFC 8693 token exchange at `POST /oauth/token`: a CI job's OIDC token becomes a short broker
//! access token for a `ci` principal. Granted or refused, every exchange is an audit event.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::Value;
use time::OffsetDateTime;
use vault_api::{TokenResponse, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT};

use super::token::TokenForm;
use crate::{
    audit::{AuditEvent, Outcome},
    ci::{
        rules,
        verify::{self, CiError, CiIdentity},
    },
    db,
    error::OAuthError,
    request_meta::RequestMeta,
    state::AppState,
};

/// Verifies the CI token, refuses replays and jobs no profile allows, and issues an access token.
pub async fn exchange(
    state: &AppState,
    meta: &RequestMeta,
    f: &TokenForm,
    now: OffsetDateTime,
) -> Result<Response, OAuthError> {
    let token = f
        .subject_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", "subject_token is required"))?;
    if f.subject_token_type.as_deref() != Some(TOKEN_TYPE_JWT) {
        return Err(OAuthError::new(
            "invalid_request",
            format!("subject_token_type must be {TOKEN_TYPE_JWT}"),
        ));
    }
    let job =
        match verify::verify(&state.config.ci_issuers, &state.ci_keys, token.trim(), now).await {
            Ok(job) => job,
            Err(CiError::Invalid(reason)) => {
                refuse(state, meta, None, Outcome::Denied, &reason).await?;
                return Err(status(StatusCode::UNAUTHORIZED, "invalid_grant", reason));
            }
            Err(CiError::Unavailable(e)) => {
                refuse(state, meta, None, Outcome::Failure, &e.to_string()).await?;
                return Err(OAuthError::new("temporarily_unavailable", e.to_string()));
            }
        };
    let allowed = rules::allowed_profiles(&state.config, &job.issuer.name, &job.claims);
    if allowed.is_empty() {
        let reason = format!(
            "no profile allows this CI job ({}, issuer `{}`)",
            job.subject, job.issuer.name
        );
        refuse(state, meta, Some(&job), Outcome::Denied, &reason).await?;
        return Err(status(StatusCode::FORBIDDEN, "access_denied", reason));
    }
    let matched: serde_json::Map<String, Value> = allowed
        .iter()
        .map(|(p, claims)| {
            (
                p.name.clone(),
                claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect(),
            )
        })
        .collect();
    // Replay check, principal and session in one short transaction that takes no shared lock:
    // a burst of jobs with one identity must not queue behind each other. The audit event goes
    // through the group-committing writer afterwards; if it cannot be written, no token leaves.
    let mut tx = state.db.begin().await?;
    if !db::ci::first_use(&mut *tx, &job.issuer.issuer, &job.jti, now, job.expires_at).await? {
        drop(tx);
        let reason = "this CI token was already used (jti replay)";
        refuse(state, meta, Some(&job), Outcome::Denied, reason).await?;
        return Err(status(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            reason.into(),
        ));
    }
    let principal_id =
        db::principals::ensure(&mut tx, "ci", &job.issuer.issuer, &job.subject, now).await?;
    let expires = now + state.config.access_token_ttl;
    let claims = Value::Object(job.claims.clone());
    let session_id = db::sessions::create_ci(
        &mut *tx,
        principal_id,
        &job.issuer.name,
        &claims,
        now,
        expires,
    )
    .await?;
    tx.commit().await?;
    let event = AuditEvent::new("ci_exchange", Outcome::Success, meta, now)
        .principal(Some(principal_id), &job.subject, "ci")
        .detail("issuer", &job.issuer.name)
        .detail("claims", &claims)
        .detail("matched", &matched)
        .detail("session_id", session_id);
    if let Err(e) = state.audit.write(event).await {
        // The session exists but no token for it ever leaves; end it anyway.
        let _ = db::sessions::revoke(&state.db, session_id, "exchange not audited", now).await;
        return Err(OAuthError::new("temporarily_unavailable", e.to_string()));
    }
    let (access_token, expires_in) =
        state
            .tokens
            .issue(principal_id, session_id, &job.subject, now);
    let body = TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: None,
        scope: None,
        issued_token_type: Some(TOKEN_TYPE_ACCESS_TOKEN.into()),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

fn status(code: StatusCode, error: &'static str, description: String) -> OAuthError {
    let mut e = OAuthError::new(error, description);
    e.status = code;
    e
}

/// Records a refused exchange; the job is named only when its token verified.
async fn refuse(
    state: &AppState,
    meta: &RequestMeta,
    job: Option<&CiIdentity>,
    outcome: Outcome,
    reason: &str,
) -> Result<(), OAuthError> {
    let mut event =
        AuditEvent::new("ci_exchange", outcome, meta, crate::clock::now()).reason(reason);
    if let Some(job) = job {
        event = event
            .principal(None, &job.subject, "ci")
            .detail("issuer", &job.issuer.name)
            .detail("claims", &job.claims);
    }
    state
        .audit
        .write(event)
        .await
        .map_err(|e| OAuthError::new("temporarily_unavailable", e.to_string()))
}
