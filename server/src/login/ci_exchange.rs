//! RFC 8693 token exchange: a CI job's OIDC token becomes a short broker access token for a `ci`
//! principal. Granted or refused, every exchange is an audit event.

use axum::http::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use vault_api::{TokenResponse, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT};

use crate::{
    audit::{AuditEvent, Outcome},
    ci::{
        rules,
        verify::{self, CiError, CiIdentity},
    },
    clock, db,
    error::{OAuthCode, OAuthError},
    login::refusal,
    principal::PrincipalKind,
    request_meta::RequestMeta,
    state::AppState,
};

/// Verifies the CI token, refuses replays and jobs no profile allows, and issues an access token.
pub async fn exchange(
    state: &AppState,
    meta: &RequestMeta,
    subject_token: Option<&str>,
    subject_token_type: Option<&str>,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let presented = subject_token.unwrap_or_default();
    let refusal = Refusal {
        state,
        meta,
        token: presented,
    };
    if presented.is_empty() {
        let error = OAuthError::missing("subject_token");
        refusal
            .record(None, Outcome::Denied, &error.description)
            .await?;
        return Err(error);
    }
    if subject_token_type != Some(TOKEN_TYPE_JWT) {
        let error = OAuthError::new(
            OAuthCode::InvalidRequest,
            format!("subject_token_type must be {TOKEN_TYPE_JWT}"),
        );
        refusal
            .record(None, Outcome::Denied, &error.description)
            .await?;
        return Err(error);
    }
    let job = match verify::verify(
        &state.config.ci_issuers,
        &state.ci_keys,
        presented.trim(),
        now,
    )
    .await
    {
        Ok(job) => job,
        Err(CiError::Invalid(reason)) => {
            refusal.record(None, Outcome::Denied, &reason).await?;
            return Err(invalid_grant(reason));
        }
        Err(CiError::Unavailable(e)) => {
            refusal
                .record(None, Outcome::Failure, &e.to_string())
                .await?;
            return Err(OAuthError::new(
                OAuthCode::TemporarilyUnavailable,
                e.to_string(),
            ));
        }
    };
    let allowed = rules::allowed_profiles(&state.config, &job.issuer.name, &job.claims);
    if allowed.is_empty() {
        let reason = format!(
            "no profile allows this CI job ({}, issuer `{}`)",
            job.subject, job.issuer.name
        );
        refusal.record(Some(&job), Outcome::Denied, &reason).await?;
        return Err(
            OAuthError::new(OAuthCode::AccessDenied, reason).with_status(StatusCode::FORBIDDEN)
        );
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
    let remember_until = job.replay_window_end();
    if !db::ci::first_use(&mut *tx, &job.issuer.issuer, &job.jti, now, remember_until).await? {
        drop(tx);
        let reason = "this CI token was already used (jti replay)";
        refusal.record(Some(&job), Outcome::Denied, reason).await?;
        return Err(invalid_grant(reason.into()));
    }
    let principal = db::principals::ensure(
        &mut tx,
        PrincipalKind::Ci,
        &job.issuer.issuer,
        &job.subject,
        now,
    )
    .await?;
    let principal_id = principal.id;
    if principal.disabled {
        drop(tx);
        let reason = format!(
            "the CI identity {} was disabled by an admin; an admin can run `vault admin enable`",
            job.subject
        );
        refusal.record(Some(&job), Outcome::Denied, &reason).await?;
        return Err(
            OAuthError::new(OAuthCode::AccessDenied, reason).with_status(StatusCode::FORBIDDEN)
        );
    }
    let expires = now + state.config.access_token_ttl;
    let claims = Value::Object(job.claims.clone());
    let session_id = db::sessions::create_ci(
        &mut *tx,
        principal_id,
        &job.issuer.name,
        &claims,
        meta.origin(),
        now,
        expires,
    )
    .await?;
    tx.commit().await?;
    let event = AuditEvent::new("ci_exchange", Outcome::Success, meta, now)
        .principal(Some(principal_id), &job.subject, PrincipalKind::Ci)
        .detail("issuer", &job.issuer.name)
        .detail("claims", &claims)
        .detail("matched", &matched)
        .detail("session_id", session_id);
    if let Err(e) = state.audit.write(event).await {
        // The session exists but no token for it ever leaves; end it anyway.
        let _ = db::sessions::revoke(&state.db, session_id, "exchange not audited", now).await;
        return Err(e.into());
    }
    let (access_token, expires_in) =
        state
            .tokens
            .issue(principal_id, session_id, &job.subject, now);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: None,
        scope: None,
        issued_token_type: Some(TOKEN_TYPE_ACCESS_TOKEN.into()),
    })
}

/// A token that is not acceptable: 401, so the job knows its credential is the problem.
fn invalid_grant(reason: String) -> OAuthError {
    OAuthError::new(OAuthCode::InvalidGrant, reason).with_status(StatusCode::UNAUTHORIZED)
}

/// A refused exchange: what the request presented, for its event.
struct Refusal<'a> {
    state: &'a AppState,
    meta: &'a RequestMeta,
    /// The subject token as presented: recorded only by length and hash prefix.
    token: &'a str,
}

impl Refusal<'_> {
    /// Records the refusal; the job is named only when its token verified.
    async fn record(
        &self,
        job: Option<&CiIdentity>,
        outcome: Outcome,
        reason: &str,
    ) -> Result<(), OAuthError> {
        let event = AuditEvent::new("ci_exchange", outcome, self.meta, clock::now()).reason(reason);
        let mut event = refusal::describe_secret(event, "subject_token", self.token);
        if let Some(job) = job {
            event = event
                .principal(None, &job.subject, PrincipalKind::Ci)
                .detail("issuer", &job.issuer.name)
                .detail("claims", &job.claims);
        }
        Ok(refusal::write(self.state, event).await?)
    }
}
