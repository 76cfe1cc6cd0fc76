//! Issuing a session: authorize → `sts:AssumeRole` with the person stamped on it → audit event
//! committed → only then the credentials. If the audit write fails, nothing leaves (503).

use time::format_description::well_known::Rfc3339;
use vault_api::Credentials;

use crate::{
    audit::{AuditEvent, Outcome},
    auth::Caller,
    clock,
    error::ApiError,
    policy,
    request_meta::RequestMeta,
    state::AppState,
    sts::{self, AssumeRequest},
};

/// Issues credentials for `profile` to `caller`, or says why not.
pub async fn issue(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    profile: &str,
    duration_seconds: Option<u32>,
) -> Result<Credentials, ApiError> {
    let now = clock::now();
    let grant = match policy::authorize(
        &state.config,
        &caller.display,
        &caller.groups,
        profile,
        duration_seconds,
    ) {
        Ok(grant) => grant,
        Err(denial) => {
            let mut event = AuditEvent::new("credentials_deny", Outcome::Denied, meta, now)
                .by(caller)
                .profile(profile)
                .reason(&denial.message)
                .detail("code", denial.code);
            event.duration_seconds = duration_seconds.map(|d| d.min(i32::MAX as u32) as i32);
            audit(state, &event).await?;
            return Err(if denial.code == "unknown_profile" {
                ApiError::NotFound {
                    code: denial.code,
                    message: denial.message,
                }
            } else {
                ApiError::Forbidden {
                    code: denial.code,
                    message: denial.message,
                }
            });
        }
    };
    let name = sts::session_name(&caller.display);
    let request = AssumeRequest {
        role_arn: grant.profile.role_arn.clone(),
        session_name: name.clone(),
        source_identity: name.clone(),
        duration: grant.duration,
        tags: vec![
            ("vault-principal".into(), sts::session_name(&caller.display)),
            ("vault-principal-kind".into(), caller.kind.clone()),
            ("vault-request-id".into(), meta.request_id.clone()),
        ],
    };
    let mut event = AuditEvent::new("credentials_issue", Outcome::Success, meta, now)
        .by(caller)
        .profile(&grant.profile.name);
    event.role_arn = Some(grant.profile.role_arn.clone());
    event.session_name = Some(name.clone());
    event.source_identity = Some(name);
    event.duration_seconds = Some(grant.duration.as_secs() as i32);
    let session = match state.sts.assume_role(request).await {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(error = %e, role = %grant.profile.role_arn, "AssumeRole failed");
            event.outcome = Outcome::Failure;
            event.reason = Some(format!("sts:AssumeRole failed: {e}"));
            audit(state, &event).await?;
            return Err(ApiError::BadGateway(format!(
                "AWS refused to issue a session for `{}`: {e}",
                grant.profile.name
            )));
        }
    };
    event.access_key_id = Some(session.access_key_id.clone());
    event.expiration = Some(session.expiration);
    audit(state, &event).await?;
    Ok(Credentials {
        version: 1,
        access_key_id: session.access_key_id,
        secret_access_key: session.secret_access_key,
        session_token: session.session_token,
        expiration: session
            .expiration
            .format(&Rfc3339)
            .map_err(anyhow::Error::from)?,
    })
}

/// Commits an audit event; any failure means the caller gets 503 and nothing else.
async fn audit(state: &AppState, event: &AuditEvent) -> Result<(), ApiError> {
    state.audit.write(event.clone()).await.map_err(|e| {
        tracing::error!(error = %e, action = event.action, "audit write failed; refusing");
        ApiError::Unavailable(
            "the audit trail cannot be written, so no credentials can be issued; try again shortly"
                .into(),
        )
    })
}
