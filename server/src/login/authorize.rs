//! The start of the CLI's browser login (`GET /oauth/authorize`): the request is checked
//! (public client, code flow, PKCE S256, loopback redirect) before the IdP round trip begins.

use url::{Host, Url};
use vault_api::CLI_CLIENT_ID;

use crate::{
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
    if p.client_id.as_deref() != Some(CLI_CLIENT_ID) {
        return Err(ApiError::BadRequest(format!(
            "unknown client_id; the only client is `{CLI_CLIENT_ID}`"
        )));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(ApiError::BadRequest("response_type must be `code`".into()));
    }
    let redirect = p
        .redirect_uri
        .as_deref()
        .ok_or_else(|| ApiError::BadRequest("redirect_uri is required".into()))?;
    check_loopback(redirect)?;
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
        client_redirect_uri: Some(redirect),
        client_state: p.state.as_deref(),
        code_challenge: Some(challenge),
        device_id: None,
    };
    super::upstream::start(state, to, browser).await
}

/// RFC 8252 §7.3: only loopback IP literals, any port, plain http, no fragment.
fn check_loopback(uri: &str) -> Result<(), ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "redirect_uri must be http://127.0.0.1:PORT/... or http://[::1]:PORT/...".into(),
        )
    };
    let url = Url::parse(uri).map_err(|_| bad())?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    if url.scheme() != "http" || !loopback || url.fragment().is_some() || !url.username().is_empty()
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn loopback_literals_on_any_port_are_accepted() {
        assert!(check_loopback("http://127.0.0.1:49152/callback").is_ok());
        assert!(check_loopback("http://[::1]:8000/cb").is_ok());
    }

    #[test]
    fn anything_else_is_refused() {
        for uri in [
            "http://localhost:8000/cb",
            "https://127.0.0.1:8000/cb",
            "http://evil.example/cb",
            "http://127.0.0.1:8000/cb#frag",
            "http://user@127.0.0.1:8000/cb",
            "not a url",
        ] {
            assert!(check_loopback(uri).is_err(), "{uri}");
        }
    }
}
