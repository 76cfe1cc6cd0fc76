//! The round trip to the company's IdP: a pending login is remembered with the IdP request's
//! state, nonce and PKCE verifier, and the browser is sent there.

use url::Url;

use crate::{
    clock,
    db::{
        self,
        logins::{LoginDestination, NewPendingLogin},
    },
    error::ApiError,
    secrets,
    state::AppState,
};

/// How long a person has to finish logging in at the IdP.
pub const LOGIN_WINDOW: time::Duration = time::Duration::minutes(10);

/// Remembers a login bound for `to` with a fresh IdP request, and returns where to send the
/// browser. `browser` is the binding token of the browser starting it (see
/// `routes/cookies.rs`): only that browser may finish the login at `/oauth/callback`.
pub async fn start(
    state: &AppState,
    to: LoginDestination<'_>,
    browser: &str,
) -> Result<Url, ApiError> {
    let started = state.upstream.start().await.map_err(|e| {
        tracing::warn!(error = %e, "cannot start upstream login");
        ApiError::BadGateway(e.to_string())
    })?;
    let pending = NewPendingLogin {
        upstream_state_hash: &secrets::digest(&started.state),
        upstream_verifier: &started.verifier,
        upstream_nonce: &started.nonce,
        to: &to,
        browser_hash: &secrets::digest(browser),
    };
    let now = clock::now();
    db::logins::insert_pending(&state.db, &pending, now, now + LOGIN_WINDOW).await?;
    Ok(started.url)
}
