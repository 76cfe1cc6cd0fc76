//! Console sign-in: authorize → the landing page → `sts:AssumeRole` with the principal stamped on
//! it → the session exchanged for a sign-in token at the AWS federation endpoint → audit event
//! committed (`console_issue`) → only then the sign-in URL, which is itself a credential. The
//! decision, the AssumeRole call and their events are issuance's own steps ([`steps`]).

pub mod destination;
pub mod federation;

use time::format_description::well_known::Rfc3339;
use vault_api::console::{ConsoleLogin, ConsoleRequest};

use crate::{
    auth::Caller,
    error::ApiError,
    issuance::steps::{self, Actions, Assumed},
    policy::Grant,
    request_meta::RequestMeta,
    state::AppState,
};
use destination::{DestinationError, Partition, Target};

/// The audit actions of `POST /v1/console`. Every sign-in gets a session of its own.
pub const CONSOLE: Actions = Actions {
    issue: "console_issue",
    deny: "console_deny",
    reuse: None,
};

/// A sign-in URL for `request.profile`'s role, or why not.
pub async fn sign_in(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    request: &ConsoleRequest,
) -> Result<ConsoleLogin, ApiError> {
    let profile = &request.profile;
    if caller.ci.is_some() {
        // A console session is for a person at a browser; a CI job has `vault exec`, and a
        // sign-in URL in a job's log would be a credential anyone reading it could use.
        let refused = ApiError::Forbidden {
            code: "console_for_people",
            message: "console sign-in is for people; a CI job gets credentials with `vault exec`"
                .into(),
        };
        return Err(steps::refuse(state, caller, meta, CONSOLE, Some(profile), refused).await);
    }
    let grant = steps::authorize(
        state,
        caller,
        meta,
        CONSOLE,
        profile,
        request.duration_seconds,
    )
    .await?;
    let (partition, destination) = match landing(&grant, request) {
        Ok(landing) => landing,
        Err(e) => {
            let refused = ApiError::Invalid {
                code: e.code(),
                message: e.to_string(),
            };
            return Err(steps::refuse(state, caller, meta, CONSOLE, Some(profile), refused).await);
        }
    };
    let endpoint = state.federation.endpoint(partition);
    let Assumed { session, event } = steps::assume(state, caller, meta, CONSOLE, &grant).await?;
    let event = event
        .detail("destination", destination.as_str())
        .detail("federation_host", endpoint.host_str().unwrap_or_default());
    let token = match state
        .federation
        .signin_token(&endpoint, &session, grant.duration)
        .await
    {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(error = %e, profile = %grant.profile.name, "getSigninToken failed");
            let message = format!("no console sign-in for `{profile}`: {e}");
            return Err(
                steps::fail(state, event, format!("getSigninToken failed: {e}"), message).await,
            );
        }
    };
    state.audit.write(event).await?;
    let issuer = state.public_url.as_str().trim_end_matches('/');
    let url = federation::login_url(&endpoint, issuer, &destination, &token);
    Ok(ConsoleLogin {
        url: url.into(),
        expires_at: session
            .expiration
            .format(&Rfc3339)
            .map_err(anyhow::Error::from)?,
    })
}

/// The partition of the profile's role and the page to land on.
fn landing(
    grant: &Grant<'_>,
    request: &ConsoleRequest,
) -> Result<(Partition, url::Url), DestinationError> {
    let partition = Partition::of_arn(&grant.profile.role_arn)?;
    let target = match (&request.service, &request.destination) {
        (Some(_), Some(_)) => return Err(DestinationError::Both),
        (Some(service), None) => Target::Service(service),
        (None, Some(url)) => Target::Url(url),
        (None, None) => Target::Home,
    };
    let region = request.region.as_deref().unwrap_or(&grant.profile.region);
    Ok((
        partition,
        destination::destination(partition, region, target)?,
    ))
}
