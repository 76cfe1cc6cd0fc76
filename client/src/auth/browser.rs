//! The authorization-code flow for native apps (RFC 8252): PKCE, a loopback redirect, a browser.

use std::time::Duration;

use url::Url;
use vault_api::{AuthorizationServerMetadata, TokenResponse, CLI_CLIENT_ID};

use super::loopback::Loopback;
use super::pkce::{random_token, Pkce};
use crate::error::UserError;
use crate::http::Http;

/// How long to wait for the browser to come back.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Runs the browser login and returns the server's tokens.
pub async fn login(
    http: &Http,
    meta: &AuthorizationServerMetadata,
    open_browser: bool,
) -> anyhow::Result<TokenResponse> {
    let pkce = Pkce::generate();
    let state = random_token(16);
    let loopback = Loopback::bind().await?;
    let redirect_uri = loopback.redirect_uri();
    let url = authorize_url(
        &super::endpoint(&meta.authorization_endpoint)?,
        &redirect_uri,
        &pkce.challenge,
        &state,
    );

    eprintln!("Open this URL to log in:");
    eprintln!("{url}");
    if open_browser {
        if let Err(e) = crate::opener::open(url.as_str()) {
            eprintln!("(could not open a browser: {e}; open the URL yourself)");
        }
    }

    let code = tokio::time::timeout(LOGIN_TIMEOUT, loopback.wait_for_code(&state))
        .await
        .map_err(|_| {
            UserError::new("gave up waiting for the browser login after 5 minutes").hint(
                "run `vault login` again, or `vault login --device` to log in from another device",
            )
        })??;

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", CLI_CLIENT_ID),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let token_endpoint = super::endpoint(&meta.token_endpoint)?;
    Ok(http.post_form(&token_endpoint, &form).await?)
}

/// The `/oauth/authorize` URL for this login.
fn authorize_url(endpoint: &Url, redirect_uri: &str, challenge: &str, state: &str) -> Url {
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLI_CLIENT_ID)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_authorize_url_carries_pkce_state_and_the_loopback_redirect() {
        let endpoint = Url::parse("http://127.0.0.1:8080/oauth/authorize").unwrap();
        let url = authorize_url(&endpoint, "http://127.0.0.1:5555/callback", "chal", "st");
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/oauth/authorize");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "vault-cli");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:5555/callback");
        assert_eq!(q["code_challenge"], "chal");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], "st");
    }
}
