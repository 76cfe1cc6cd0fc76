//! Issuing a session: authorize → `sts:AssumeRole` with the principal stamped on it → audit event
//! committed → only then the credentials. If the audit write fails, nothing leaves (503). The
//! steps themselves are shared with console sign-in (see [`steps`]).

pub mod steps;

use time::format_description::well_known::Rfc3339;
use vault_api::Credentials;

use crate::{auth::Caller, error::ApiError, request_meta::RequestMeta, state::AppState};
use steps::{Actions, Assumed};

/// The audit actions of `POST /v1/credentials` and `POST /assume-role`.
pub const CREDENTIALS: Actions = Actions {
    issue: "credentials_issue",
    deny: "credentials_deny",
    reuse: Some("credentials_reuse"),
};

/// Issues credentials for `profile` to `caller`, or says why not.
pub async fn issue(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    profile: &str,
    duration_seconds: Option<u32>,
) -> Result<Credentials, ApiError> {
    let grant =
        steps::authorize(state, caller, meta, CREDENTIALS, profile, duration_seconds).await?;
    let Assumed { session, event } =
        steps::assume(state, caller, meta, CREDENTIALS, &grant).await?;
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
    steps::refuse(state, caller, meta, CREDENTIALS, None, error).await
}
