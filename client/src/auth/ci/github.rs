//! GitHub Actions: asking the runner for the job's OIDC token.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::secret::Secret;
use crate::error::UserError;

/// The URL to ask for the job's OIDC token.
pub const GITHUB_URL_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// The bearer token for that request.
pub const GITHUB_TOKEN_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// Attempts at GitHub's token endpoint (transport errors, 429 and 5xx are retried).
const GITHUB_ATTEMPTS: u32 = 3;

/// GitHub's token request URL with `audience=<aud>` added: after `&` when the URL already has a
/// query (it has `api-version=…`), after `?` otherwise; an `audience` already there is replaced.
pub fn github_request_url(base: &str, audience: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(base.trim()).map_err(|e| {
        UserError::new(format!("{GITHUB_URL_VAR} is not a valid URL: {e}"))
            .hint("it is set by GitHub Actions; do not set it yourself")
    })?;
    if url.scheme() != "https" && !(url.scheme() == "http" && crate::config::is_loopback(&url)) {
        return Err(UserError::new(format!(
            "refusing to send the GitHub Actions request token to {} over {}",
            url.host_str().unwrap_or("(no host)"),
            url.scheme()
        ))
        .hint(format!(
            "{GITHUB_URL_VAR} must be an https:// URL (plain http only for 127.0.0.1 or localhost)"
        ))
        .into());
    }
    if url.query_pairs().any(|(k, _)| k == "audience") {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "audience")
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url.query_pairs_mut().append_pair("audience", audience);
    Ok(url)
}

/// The host (and port) of a URL, the only part of it errors show.
fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "(no host)".to_owned(),
    }
}

/// GitHub's answer to the token request.
#[derive(Deserialize)]
struct GitHubIdToken {
    value: Option<String>,
}

/// Asks GitHub Actions for the job's OIDC token for `audience`.
pub async fn fetch_github_token(
    request_url: &str,
    request_token: &Secret,
    audience: &str,
) -> anyhow::Result<Secret> {
    let url = github_request_url(request_url, audience)?;
    let host = host_of(&url);
    let client = reqwest::Client::builder()
        // The request token is attached: never follow a redirect with it.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vault/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()?;
    let failed = |what: String| {
        UserError::new(format!(
            "could not get the job's OIDC token from GitHub Actions ({host}): {what}"
        ))
        .hint("the job needs `permissions: id-token: write`; retry the job if GitHub was having trouble")
    };
    // `without_url`: the URL is GitHub's and not secret, but errors name only the host.
    let unreachable = |e: reqwest::Error| failed(crate::error::one_line(&e.without_url().into()));
    let mut attempt = 1;
    let resp = loop {
        let sent = client
            .get(url.clone())
            .header(
                reqwest::header::AUTHORIZATION,
                format!("bearer {}", request_token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        let retry = match &sent {
            Ok(resp) => {
                let status = resp.status();
                status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            Err(_) => true,
        };
        if !retry || attempt >= GITHUB_ATTEMPTS {
            break sent.map_err(unreachable)?;
        }
        tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        attempt += 1;
    };
    let status = resp.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")).into());
    }
    let body = match crate::http::read_limited(resp, crate::http::MAX_BODY).await {
        Ok(body) => body,
        Err(crate::http::BodyError::Cut(e)) => return Err(unreachable(e).into()),
        Err(e) => return Err(failed(e.to_string()).into()),
    };
    let answer: GitHubIdToken = serde_json::from_slice(&body)
        .map_err(|_| failed("the answer is not the expected JSON".to_owned()))?;
    match answer.value.map(|v| v.trim().to_owned()) {
        Some(token) if !token.is_empty() => Ok(Secret::new(token)),
        _ => Err(failed("the answer holds no token".to_owned()).into()),
    }
}

#[cfg(test)]
mod tests;
