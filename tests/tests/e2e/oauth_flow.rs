//! The server as an OAuth authorization server: PKCE, one-time codes, redirect URIs, grants.

use vault_api::{DeviceAuthorizationResponse, OAuthErrorBody, CLI_CLIENT_ID, GRANT_DEVICE_CODE};
use vault_e2e::oauth::{pkce_challenge, random_b64, AuthCode, REDIRECT_URI};
use vault_e2e::TestApp;

async fn assert_oauth_error(resp: reqwest::Response, status: u16, error: &str, what: &str) {
    let got = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {body}");
    let parsed: OAuthErrorBody = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{what}: not an OAuth error body ({e}): {body}"));
    assert_eq!(parsed.error, error, "{what}: {body}");
    assert!(!body.contains("access_token"), "{what}: {body}");
}

#[tokio::test]
async fn an_authorization_code_is_refused_with_another_pkce_verifier() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let code = oauth.authorize("alice").await.expect("authorize");

    let wrong = AuthCode {
        verifier: random_b64(32),
        ..code.clone()
    };
    let resp = oauth.exchange(&wrong).await.unwrap();

    assert_oauth_error(resp, 400, "invalid_grant", "exchange with another verifier").await;
}

#[tokio::test]
async fn an_authorization_code_works_only_once() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let code = oauth.authorize("alice").await.expect("authorize");
    let first = oauth.exchange(&code).await.unwrap();
    assert_eq!(
        first.status(),
        200,
        "{}",
        first.text().await.unwrap_or_default()
    );

    let again = oauth.exchange(&code).await.unwrap();

    assert_oauth_error(again, 400, "invalid_grant", "second exchange of one code").await;
}

#[tokio::test]
async fn an_authorization_code_is_refused_for_another_redirect_uri() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let code = oauth.authorize("alice").await.expect("authorize");

    let moved = AuthCode {
        redirect_uri: "http://127.0.0.1:10/callback".into(),
        ..code
    };
    let resp = oauth.exchange(&moved).await.unwrap();

    assert_oauth_error(
        resp,
        400,
        "invalid_grant",
        "exchange for another redirect_uri",
    )
    .await;
}

#[tokio::test]
async fn authorize_refuses_a_redirect_uri_that_is_not_loopback() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let challenge = pkce_challenge(&random_b64(32));

    for target in [
        "https://attacker.example/cb",
        "http://localhost.attacker.example:80/cb",
        "http://10.0.0.1:8080/cb",
    ] {
        let url = oauth.authorize_url(&challenge, "s", target);
        let resp = app.http.get(url).send().await.unwrap();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            resp.status().is_client_error(),
            "redirect_uri {target}: answered {} (Location {location:?}), expected a 4xx page",
            resp.status()
        );
        assert!(
            location.is_empty(),
            "redirect_uri {target}: redirected to {location}"
        );
    }
}

#[tokio::test]
async fn authorize_refuses_plain_pkce_and_a_missing_challenge_before_the_idp() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let verifier = random_b64(32);
    let mut plain = oauth.authorize_url(&verifier, "s", REDIRECT_URI);
    plain.set_query(Some(
        &plain
            .query()
            .unwrap()
            .replace("method=S256", "method=plain"),
    ));
    let mut missing = url::Url::parse(&app.endpoint("/oauth/authorize")).unwrap();
    missing
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLI_CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "s");

    for (what, url) in [("plain PKCE", plain), ("no code_challenge", missing)] {
        let resp = app.http.get(url).send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let refused_here = status.is_client_error();
        let refused_to_client = status.is_redirection()
            && location.starts_with(REDIRECT_URI)
            && location.contains("error=");
        assert!(
            refused_here || refused_to_client,
            "{what}: answered {status} Location {location:?}; expected a 4xx or an error redirect to the client"
        );
        assert!(
            !location.starts_with(&app.env.idp_issuer),
            "{what}: sent to the IdP"
        );
    }
}

#[tokio::test]
async fn the_token_endpoint_refuses_an_unknown_client_and_an_unknown_grant() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let code = oauth.authorize("alice").await.expect("authorize");

    let resp = oauth
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code.code),
            ("redirect_uri", &code.redirect_uri),
            ("client_id", "someone-else"),
            ("code_verifier", &code.verifier),
        ])
        .await
        .unwrap();
    assert_oauth_error(resp, 401, "invalid_client", "unknown client_id").await;

    let resp = oauth
        .token_request(&[
            ("grant_type", "password"),
            ("client_id", CLI_CLIENT_ID),
            ("username", "alice"),
            ("password", "x"),
        ])
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "unsupported_grant_type", "password grant").await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_the_login_session() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let tokens = oauth.login("alice").await;

    let resp = oauth.revoke(&tokens.refresh_token).await;
    assert_eq!(resp.status(), 200);

    let refreshed = oauth.refresh(&tokens.refresh_token).await;
    assert_oauth_error(refreshed, 400, "invalid_grant", "refresh after revoke").await;
    assert_eq!(
        oauth.get(&tokens.access_token, "/v1/whoami").await.status(),
        401
    );
    // RFC 7009: revoking an unknown token is not an error.
    assert_eq!(
        oauth
            .revoke("tvr_unknown_token_value_0000000000")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_device_code_is_pending_until_approved_and_then_works_once() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let resp = app
        .http
        .post(app.endpoint("/oauth/device"))
        .form(&[("client_id", CLI_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let device: DeviceAuthorizationResponse = resp.json().await.expect("device response");
    assert!(
        device.verification_uri_complete.starts_with(&app.url),
        "{device:?}"
    );
    let form = [
        ("grant_type", GRANT_DEVICE_CODE),
        ("device_code", device.device_code.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    let poll = || oauth.token_request(&form);
    assert_oauth_error(
        poll().await.unwrap(),
        400,
        "authorization_pending",
        "before approval",
    )
    .await;

    vault_e2e::login::autologin("bob", &device.verification_uri_complete, &[])
        .await
        .expect("approving the device code");

    // RFC 8628: poll no faster than `interval`, five seconds slower after each slow_down.
    let mut interval = std::time::Duration::from_secs(device.interval.max(1));
    let mut tokens = None;
    for _ in 0..10 {
        tokio::time::sleep(interval).await;
        let resp = poll().await.unwrap();
        if resp.status() == 200 {
            tokens = Some(
                resp.json::<vault_api::TokenResponse>()
                    .await
                    .expect("tokens"),
            );
            break;
        }
        let body: OAuthErrorBody = resp.json().await.expect("OAuth error");
        assert_eq!(
            body.error, "slow_down",
            "unexpected device-grant error after approval"
        );
        interval += std::time::Duration::from_secs(5);
    }
    let tokens = tokens.expect("the approved device code never gave tokens");
    let whoami: vault_api::WhoAmI = oauth
        .get(&tokens.access_token, "/v1/whoami")
        .await
        .json()
        .await
        .expect("whoami");
    assert_eq!(whoami.display, "bob@example.com");
    let mut groups = whoami.groups.clone();
    groups.sort();
    assert_eq!(groups, ["dev", "ops"]);
    let again = poll().await.unwrap();
    assert!(
        again.status().is_client_error(),
        "a device code must not give a second login"
    );
}
