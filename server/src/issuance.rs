//! Issuing a session: authorize → `sts:AssumeRole` with the principal stamped on it → audit event
//! committed → only then the credentials. If the audit write fails, nothing leaves (503).

use time::format_description::well_known::Rfc3339;
use vault_api::Credentials;

use crate::{
    audit::{bounds::cut_str, AuditEvent, Outcome},
    auth::Caller,
    ci::{self, reuse::ReuseKey},
    clock,
    error::ApiError,
    policy::{self, Grant},
    request_meta::RequestMeta,
    state::AppState,
    sts::{self, AssumeRequest, IssuedCredentials},
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
        &caller.principal.display,
        caller.membership(),
        profile,
        duration_seconds,
    ) {
        Ok(grant) => grant,
        Err(denial) => {
            let mut event = AuditEvent::new("credentials_deny", Outcome::Denied, meta, now)
                .by(caller.actor())
                .profile(profile)
                .reason(denial.to_string())
                .detail("code", denial.code());
            event.duration_seconds = duration_seconds.map(|d| d.min(i32::MAX as u32) as i32);
            state.audit.write(event).await?;
            return Err(denial.into());
        }
    };
    let request = assume_request(caller, meta, &grant);
    let mut event = AuditEvent::new("credentials_issue", Outcome::Success, meta, now)
        .by(caller.actor())
        .profile(&grant.profile.name);
    event.role_arn = Some(grant.profile.role_arn.clone());
    event.session_name = Some(request.session_name.clone());
    event.source_identity = Some(request.source_identity.clone());
    event.duration_seconds = Some(grant.duration.as_secs() as i32);
    if let Some((_, claims)) = &caller.ci {
        event = event
            .detail("ci_subject", &caller.principal.display)
            .detail("ci_claims", claims);
    }
    let (session, reused) = match assume(state, caller, &grant, request, now).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(error = %e, role = %grant.profile.role_arn, "AssumeRole failed");
            event.outcome = Outcome::Failure;
            event.reason = Some(format!("sts:AssumeRole failed: {e}"));
            state.audit.write(event).await?;
            return Err(ApiError::BadGateway(format!(
                "AWS refused to issue a session for `{}`: {e}",
                grant.profile.name
            )));
        }
    };
    if reused {
        event.action = "credentials_reuse";
    }
    event.access_key_id = Some(session.access_key_id.clone());
    event.expiration = Some(session.expiration);
    state.audit.write(event).await?;
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

/// A request body that is not a credentials request (bad JSON, a duration that is not a
/// whole number of seconds, ...): refused with its 4xx, and audited under the caller with its code.
pub async fn refuse_malformed(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    error: ApiError,
) -> ApiError {
    let event = AuditEvent::new("credentials_deny", Outcome::Denied, meta, clock::now())
        .by(caller.actor())
        .reason(cut_str(&error.to_string(), 256))
        .detail("code", error.code());
    match state.audit.write(event).await {
        Ok(()) => error,
        Err(e) => e.into(),
    }
}

/// The AssumeRole call: people are named by their display name, CI jobs by job and run.
fn assume_request(caller: &Caller, meta: &RequestMeta, grant: &Grant<'_>) -> AssumeRequest {
    let mut tags = vec![
        (
            "vault-principal".to_owned(),
            sts::session_name_of(&caller.principal),
        ),
        (
            "vault-principal-kind".to_owned(),
            caller.principal.kind.as_str().to_owned(),
        ),
        ("vault-request-id".to_owned(), meta.request_id.clone()),
    ];
    let name = match &caller.ci {
        Some((_, claims)) => {
            tags.extend(ci::naming::tags(claims));
            ci::naming::session_name(&caller.principal.display, claims, caller.principal.id)
        }
        None => sts::session_name_of(&caller.principal),
    };
    AssumeRequest {
        role_arn: grant.profile.role_arn.clone(),
        session_name: name.clone(),
        source_identity: name,
        duration: grant.duration,
        tags,
    }
}

/// Calls STS, or for CI jobs on a profile with `reuse_ci_sessions` hands out a fresh session
/// already issued to the same job identity. `true` when reused.
async fn assume(
    state: &AppState,
    caller: &Caller,
    grant: &Grant<'_>,
    request: AssumeRequest,
    now: time::OffsetDateTime,
) -> Result<(IssuedCredentials, bool), sts::StsError> {
    if caller.ci.is_none() || !grant.profile.reuse_ci_sessions {
        return state.sts.assume_role(request).await.map(|s| (s, false));
    }
    let key = ReuseKey {
        principal_id: caller.principal.id,
        profile: grant.profile.name.clone(),
        duration: grant.duration,
        session_name: request.session_name.clone(),
    };
    state
        .ci_credentials
        .get_or_issue(key, now, || state.sts.assume_role(request))
        .await
}
