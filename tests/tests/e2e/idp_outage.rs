//! The company's OpenID provider down while a person logs in: a readable page says so, and the
//! same login works once the provider is back.

use std::time::{Duration, Instant};

use reqwest::header;
use vault_e2e::idp::OwnIdp;
use vault_e2e::oauth::{pkce_challenge, random_b64, REDIRECT_URI};
use vault_e2e::TestApp;

/// The server's own bound on IdP calls (3 s to connect, 10 s in all), with room to spare.
const ANSWER_LIMIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_login_while_the_idp_is_down_gets_a_readable_page_and_works_once_it_is_back() {
    let mut idp = OwnIdp::start().await;
    let app = TestApp::builder().idp_issuer(&idp.issuer).spawn().await;
    idp.stop().await;

    let url = app
        .oauth()
        .authorize_url(&pkce_challenge(&random_b64(32)), "s", REDIRECT_URI);
    let asked = Instant::now();
    let resp = app
        .http
        .get(url)
        .send()
        .await
        .expect("GET /oauth/authorize");

    assert!(asked.elapsed() < ANSWER_LIMIT, "{:?}", asked.elapsed());
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(resp.headers().get(header::LOCATION).is_none());
    let page = resp.text().await.unwrap_or_default();
    assert!(status == 502 || status == 503, "answered {status}: {page}");
    assert!(
        content_type.starts_with("text/html"),
        "{content_type}: {page}"
    );
    assert!(
        page.contains("<h1>") && page.contains("identity provider is unreachable"),
        "{page}"
    );

    idp.restart().await;
    let tokens = app.oauth().login("alice").await;
    let whoami = app.oauth().get(&tokens.access_token, "/v1/whoami").await;
    assert_eq!(whoami.status(), 200, "the login after the outage works");
}
