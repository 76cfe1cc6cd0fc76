//! The steps every hand-out of an STS session shares, whatever it is for (credentials, a console
//! sign-in): the policy decision, committed when it denies; `sts:AssumeRole` with the principal
//! stamped on the session, committed when it fails; and the event the caller completes and commits
//! before anything leaves.

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

/// The audit actions of one kind of hand-out.
#[derive(Debug, Clone, Copy)]
pub struct Actions {
    pub issue: &'static str,
    pub deny: &'static str,
    /// A CI job handed a fresh session already issued to it (`reuse_ci_sessions`); `None`: every
    /// hand-out of this kind calls STS.
    pub reuse: Option<&'static str>,
}

/// A session from STS and its audit event, not yet written: the caller adds what it knows and
/// commits it before anything leaves.
pub struct Assumed {
    pub session: IssuedCredentials,
    pub event: AuditEvent,
}

/// The policy decision: may `caller` have `profile` for `duration_seconds`? A denial is committed
/// under `actions.deny` (with the reason and its code) and answered 403, or 404 for no such profile.
pub async fn authorize<'a>(
    state: &'a AppState,
    caller: &Caller,
    meta: &RequestMeta,
    actions: Actions,
    profile: &str,
    duration_seconds: Option<u32>,
) -> Result<Grant<'a>, ApiError> {
    let denial = match policy::authorize(
        &state.config,
        &caller.principal.display,
        caller.membership(),
        profile,
        duration_seconds,
    ) {
        Ok(grant) => return Ok(grant),
        Err(denial) => denial,
    };
    let mut event =
        refusal(caller, meta, actions, denial.to_string(), denial.code()).profile(profile);
    event.duration_seconds = duration_seconds.map(|d| d.min(i32::MAX as u32) as i32);
    state.audit.write(event).await?;
    Err(denial.into())
}

/// A request refused outside the policy decision (a malformed body, a destination the console
/// does not take): answered with its 4xx, committed under `actions.deny` with its code.
pub async fn refuse(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    actions: Actions,
    profile: Option<&str>,
    error: ApiError,
) -> ApiError {
    let mut event = refusal(
        caller,
        meta,
        actions,
        cut_str(&error.to_string(), 256),
        error.code(),
    );
    if let Some(profile) = profile {
        event = event.profile(profile);
    }
    match state.audit.write(event).await {
        Ok(()) => error,
        Err(e) => e.into(),
    }
}

fn refusal(
    caller: &Caller,
    meta: &RequestMeta,
    actions: Actions,
    reason: String,
    code: &str,
) -> AuditEvent {
    AuditEvent::new(actions.deny, Outcome::Denied, meta, clock::now())
        .by(caller.actor())
        .reason(reason)
        .detail("code", code)
}

/// `sts:AssumeRole` for `grant`, the principal stamped on the session. A refusal by STS is
/// committed as a failed `actions.issue` and answered 502.
pub async fn assume(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    actions: Actions,
    grant: &Grant<'_>,
) -> Result<Assumed, ApiError> {
    let now = clock::now();
    let request = assume_request(caller, meta, grant);
    let mut event = AuditEvent::new(actions.issue, Outcome::Success, meta, now)
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
    let reuse = actions.reuse.filter(|_| grant.profile.reuse_ci_sessions);
    let (session, reused) =
        match call_sts(state, caller, grant, request, reuse.is_some(), now).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, role = %grant.profile.role_arn, "AssumeRole failed");
                let message = format!(
                    "AWS refused to issue a session for `{}`: {e}",
                    grant.profile.name
                );
                let reason = format!("sts:AssumeRole failed: {e}");
                return Err(fail(state, event, reason, message).await);
            }
        };
    if let (true, Some(action)) = (reused, reuse) {
        event.action = action;
    }
    event.access_key_id = Some(session.access_key_id.clone());
    event.expiration = Some(session.expiration);
    Ok(Assumed { session, event })
}

/// A hand-out that AWS refused after the decision (STS, the federation endpoint): its event is
/// committed as a failure with `reason`, and the caller gets a 502 saying `message`.
pub async fn fail(
    state: &AppState,
    mut event: AuditEvent,
    reason: String,
    message: String,
) -> ApiError {
    event.outcome = Outcome::Failure;
    event.reason = Some(reason);
    match state.audit.write(event).await {
        Ok(()) => ApiError::BadGateway(message),
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

/// Calls STS, or, when `may_reuse` and the caller is a CI job, hands out a fresh session already
/// issued to the same job identity. `true` when reused.
async fn call_sts(
    state: &AppState,
    caller: &Caller,
    grant: &Grant<'_>,
    request: AssumeRequest,
    may_reuse: bool,
    now: time::OffsetDateTime,
) -> Result<(IssuedCredentials, bool), sts::StsError> {
    if caller.ci.is_none() || !may_reuse {
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
