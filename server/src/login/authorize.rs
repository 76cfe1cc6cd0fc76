//! The start of a browser login (`GET /oauth/authorize`): the request is checked (a registered
//! client allowed the code flow, PKCE S256, a redirect URI the client registered) before the IdP
//! round trip begins. Nothing here redirects to a URI that was not checked.

use url::Url;

use crate::{
    clients::{redirect::MAX_REDIRECT_URI_BYTES, Grant, RedirectRule},
    db::logins::{LoginDestination, LoginFlow},
    error::ApiError,
    state::AppState,
};

/// The parameters of an authorization request, as the client sent them.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub state: Option<String>,
}

/// Validates the request, remembers it for the browser whose binding token is `browser`, and
/// returns the IdP URL to send the browser to.
pub async fn authorize(
    state: &AppState,
    p: &AuthorizeRequest,
    browser: &str,
) -> Result<Url, ApiError> {
    let client = p
        .client_id
        .as_deref()
        .and_then(|id| state.config.clients.get(id))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "unknown client_id; the application must be registered in the server's [[clients]]"
                    .into(),
            )
        })?;
    if !client.allows(Grant::AuthorizationCode) {
        return Err(ApiError::BadRequest(format!(
            "{} may not log in through the browser (its grants lack authorization_code)",
            client.name
        )));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(ApiError::BadRequest("response_type must be `code`".into()));
    }
    let redirect = p
        .redirect_uri
        .as_deref()
        .ok_or_else(|| ApiError::BadRequest("redirect_uri is required".into()))?;
    if redirect.len() > MAX_REDIRECT_URI_BYTES || !client.allows_redirect(redirect) {
        return Err(ApiError::BadRequest(match client.redirect {
            RedirectRule::Loopback => {
                "redirect_uri must be http://127.0.0.1:PORT/... or http://[::1]:PORT/...".into()
            }
            RedirectRule::Exact(_) => {
                format!("redirect_uri is not one registered for {}", client.name)
            }
        }));
    }
    if p.code_challenge_method.as_deref() != Some("S256") {
        return Err(ApiError::BadRequest(
            "PKCE is required: code_challenge_method must be S256".into(),
        ));
    }
    let challenge = p
        .code_challenge
        .as_deref()
        .filter(|c| (43..=128).contains(&c.len()))
        .ok_or_else(|| {
            ApiError::BadRequest("code_challenge must be a 43-128 character S256 challenge".into())
        })?;
    let to = LoginDestination {
        flow: LoginFlow::Browser,
        client_id: &client.id,
        client_redirect_uri: Some(redirect),
        client_state: p.state.as_deref(),
        code_challenge: Some(challenge),
        device_id: None,
    };
    super::upstream::start(state, to, browser).await
}
