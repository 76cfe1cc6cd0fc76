//! The GitHub Actions token request: where the request token may go, how the audience is set,
//! and what a refusal says.

use super::*;

/// `ACTIONS_ID_TOKEN_REQUEST_URL` as GitHub sets it.
const ACTIONS_URL: &str =
    "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0";

#[test]
fn the_audience_is_appended_to_an_existing_query() {
    let url = github_request_url(ACTIONS_URL, "team-vault").unwrap();
    assert_eq!(
        url.as_str(),
        "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0&audience=team-vault"
    );
}

#[test]
fn the_audience_starts_a_query_when_there_is_none_and_is_encoded() {
    let url =
        github_request_url("https://example.com/idtoken", "https://vault.example.com").unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.com/idtoken?audience=https%3A%2F%2Fvault.example.com"
    );
    let url = github_request_url("https://example.com/idtoken?", "aud").unwrap();
    assert_eq!(url.as_str(), "https://example.com/idtoken?audience=aud");
}

#[test]
fn an_audience_already_in_the_url_is_replaced() {
    let url = github_request_url(
        "https://example.com/t?audience=other&api-version=2.0",
        "mine",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.com/t?api-version=2.0&audience=mine"
    );
}

#[test]
fn the_request_token_goes_only_to_https_or_loopback() {
    assert!(github_request_url("http://127.0.0.1:9/t", "a").is_ok());
    let err = github_request_url("http://github.example.com/t", "a").unwrap_err();
    assert!(
        err.to_string().contains("github.example.com over http"),
        "{err}"
    );
    assert!(github_request_url("not a url", "a").is_err());
}

#[tokio::test]
async fn the_github_token_is_fetched_with_the_request_token_and_audience() {
    let (base, server) =
        crate::test_server::one_shot("200 OK", r#"{"count":1,"value":"eyJ.gh.token"}"#).await;
    let request_url = format!("{base}/idtoken?api-version=2.0");
    let token = fetch_github_token(&request_url, &Secret::new("req-token"), "team-vault")
        .await
        .unwrap();
    assert_eq!(token, Secret::new("eyJ.gh.token"));
    let request = server.await.unwrap();
    assert!(
        request.starts_with("GET /idtoken?api-version=2.0&audience=team-vault HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_lowercase()
            .contains("\r\nauthorization: bearer req-token\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn a_refused_github_token_request_names_the_host_and_status_not_the_token() {
    let (base, server) = crate::test_server::one_shot("403 Forbidden", "").await;
    let request_url = format!("{base}/idtoken?api-version=2.0");
    let err = fetch_github_token(&request_url, &Secret::new("req-token"), "team-vault")
        .await
        .unwrap_err();
    server.await.unwrap();
    let host = base.trim_start_matches("http://");
    assert_eq!(
        err.to_string(),
        format!(
            "could not get the job's OIDC token from GitHub Actions ({host}): HTTP 403 Forbidden"
        )
    );
    assert!(!crate::error::one_line(&err).contains("req-token"));
    assert!(!crate::error::one_line(&err).contains("idtoken"));
}
