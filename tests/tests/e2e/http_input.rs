//! Hostile or broken input at the HTTP level gets a clear 4xx, never a 500: JSON from the API
//! and the OAuth endpoints, a readable page where a browser lands; and an IdP that sends the
//! browser back with an error ends the pending login.

use reqwest::{header, Response};
use serde_json::Value;
use vault_api::{ErrorBody, OAuthErrorBody, CLI_CLIENT_ID};
use vault_e2e::oauth::{pkce_challenge, random_b64, REDIRECT_URI};
use vault_e2e::TestApp;

/// 70 KiB, over the 64 KiB body limit.
fn oversized(prefix: &str) -> String {
    format!("{prefix}{}", "a".repeat(70 * 1024))
}

fn content_type(resp: &Response) -> String {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts `status` and the API's JSON error shape; returns the body.
async fn assert_api_error(resp: Response, status: u16, what: &str) -> ErrorBody {
    let (got, ct) = (resp.status().as_u16(), content_type(&resp));
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {text}");
    assert!(ct.starts_with("application/json"), "{what}: {ct}: {text}");
    let body: ErrorBody = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what}: not an ErrorBody ({e}): {text}"));
    assert!(!body.error.is_empty() && !body.message.is_empty(), "{text}");
    body
}

/// Asserts a 4xx (or `status`) with the OAuth JSON error shape.
async fn assert_oauth_error(resp: Response, status: Option<u16>, what: &str) -> OAuthErrorBody {
    let (got, ct) = (resp.status().as_u16(), content_type(&resp));
    let text = resp.text().await.unwrap_or_default();
    match status {
        Some(s) => assert_eq!(got, s, "{what}: {text}"),
        None => assert!((400..500).contains(&got), "{what}: answered {got}: {text}"),
    }
    assert!(ct.starts_with("application/json"), "{what}: {ct}: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what}: not an OAuth error ({e}): {text}"))
}

/// Asserts a readable HTML page with `status`; returns its text.
async fn assert_page(resp: Response, status: u16, what: &str) -> String {
    let (got, ct) = (resp.status().as_u16(), content_type(&resp));
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {text}");
    assert!(ct.starts_with("text/html"), "{what}: {ct}: {text}");
    assert!(
        text.contains("<h1>") && text.contains("<p>"),
        "{what}: {text}"
    );
    text
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_413_with_a_json_error_or_a_page() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let form = "application/x-www-form-urlencoded";

    let resp = app
        .http
        .post(app.endpoint("/v1/credentials"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(oversized(r#"{"profile":"dev","x":""#) + "\"}")
        .send()
        .await
        .unwrap();
    let err = assert_api_error(resp, 413, "POST /v1/credentials 70 KiB").await;
    assert_eq!(err.error, "payload_too_large");

    for path in ["/oauth/token", "/oauth/device", "/oauth/revoke"] {
        let resp = app
            .http
            .post(app.endpoint(path))
            .header(header::CONTENT_TYPE, form)
            .body(oversized("grant_type=refresh_token&x="))
            .send()
            .await
            .unwrap();
        assert_oauth_error(resp, Some(413), &format!("POST {path} 70 KiB")).await;
    }

    let resp = app
        .http
        .post(app.endpoint("/device"))
        .header(header::CONTENT_TYPE, form)
        .body(oversized("csrf=a&user_code=b&confirm=yes&x="))
        .send()
        .await
        .unwrap();
    assert_page(resp, 413, "POST /device 70 KiB").await;
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404_and_a_wrong_method_a_json_405() {
    let app = TestApp::spawn().await;

    let resp = app
        .http
        .get(app.endpoint("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_api_error(resp, 404, "GET /no/such/route").await;

    for (method, path) in [
        (reqwest::Method::GET, "/oauth/token"),
        (reqwest::Method::DELETE, "/v1/credentials"),
        (reqwest::Method::PUT, "/healthz"),
        (reqwest::Method::POST, "/oauth/callback"),
    ] {
        let resp = app
            .http
            .request(method.clone(), app.endpoint(path))
            .send()
            .await
            .unwrap();
        let err = assert_api_error(resp, 405, &format!("{method} {path}")).await;
        assert_eq!(err.error, "method_not_allowed");
    }
}

#[tokio::test]
async fn non_utf8_and_malformed_bodies_get_a_json_4xx() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let bad_utf8: &[u8] = b"grant_type=\xff\xfe&client_id=\xc3\x28";
    let form = "application/x-www-form-urlencoded";

    for path in ["/oauth/token", "/oauth/device"] {
        for (ct, body) in [
            (Some(form), bad_utf8.to_vec()),
            (Some(form), b"grant_type=%zz&&==&client_id".to_vec()),
            (Some(form), b"grant_type=a&grant_type=b".to_vec()),
            (
                Some("application/json"),
                br#"{"grant_type":"refresh_token"}"#.to_vec(),
            ),
            (None, b"grant_type=refresh_token".to_vec()),
        ] {
            let mut req = app.http.post(app.endpoint(path)).body(body.clone());
            if let Some(ct) = ct {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            let what = format!("POST {path} {ct:?} {:?}", String::from_utf8_lossy(&body));
            let err = assert_oauth_error(req.send().await.unwrap(), None, &what).await;
            assert!(!err.error.is_empty(), "{what}");
        }
    }

    let resp = app
        .http
        .post(app.endpoint("/v1/credentials"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(b"{\"profile\":\"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_api_error(resp, 400, "POST /v1/credentials with non-UTF-8 JSON").await;
}

#[tokio::test]
async fn malformed_queries_where_a_browser_lands_get_a_readable_4xx_page() {
    let app = TestApp::spawn().await;

    for path in [
        "/oauth/callback",
        "/oauth/callback?code=x",
        "/oauth/callback?state=a&state=b",
        "/oauth/callback?state=%ff%fe&code=%zz",
        "/oauth/callback?state=no-such-login&code=x",
        "/oauth/authorize",
        "/oauth/authorize?client_id=a&client_id=b",
        "/oauth/authorize?response_type=code&client_id=vault-cli&redirect_uri=%zz",
    ] {
        let resp = app.http.get(app.endpoint(path)).send().await.unwrap();
        assert_page(resp, 400, &format!("GET {path}")).await;
    }
    let resp = app
        .http
        .get(app.endpoint("/device?user_code=a&user_code=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the device page asks for the code again"
    );
    assert!(content_type(&resp).starts_with("text/html"));
}

/// Starts a browser login at the server; the `state` the server sent to the IdP.
/// The IdP `state` of a fresh pending login, and the binding cookie (`name=value`) of the
/// browser that started it.
async fn pending_login_state(app: &TestApp) -> (String, String) {
    let verifier = random_b64(32);
    let url = app
        .oauth()
        .authorize_url(&pkce_challenge(&verifier), "client-state", REDIRECT_URI);
    let resp = app.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 303, "GET /oauth/authorize");
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let location = url::Url::parse(&location).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state in the IdP URL");
    (state, binding_cookie(&resp))
}

/// `name=value` of the browser-binding cookie a response sets.
fn binding_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("vault_login="))
        .and_then(|c| c.split(';').next())
        .expect("a binding cookie")
        .to_owned()
}

#[tokio::test]
async fn an_idp_error_ends_the_pending_login_with_a_bounded_answer_and_a_replay_gets_a_page() {
    let app = TestApp::spawn().await;
    let (state, cookie) = pending_login_state(&app).await;
    // About 20 KB once encoded: far over the cap, within what an HTTP client sends as a URI.
    let description = "<script>alert(1)</script>".repeat(300);
    let mut callback = url::Url::parse(&app.endpoint("/oauth/callback")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("error", "access_denied")
        .append_pair("error_description", &description);

    let resp = app
        .http
        .get(callback.clone())
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();

    assert_eq!(
        resp.status(),
        303,
        "the CLI's loopback hears of the refusal"
    );
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let location = url::Url::parse(&location).unwrap();
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("error").as_deref(), Some("access_denied"));
    assert_eq!(param("state").as_deref(), Some("client-state"));
    let told = param("error_description").unwrap_or_default();
    assert!(
        told.contains("access_denied") && told.chars().count() < 400,
        "the description is not bounded: {} characters",
        told.chars().count()
    );
    let failed = app.audit_rows_for("login_failed").await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("access_denied") && reason.chars().count() < 400,
        "{reason}"
    );

    let replay = app
        .http
        .get(callback)
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let page = assert_page(replay, 400, "the same callback again").await;
    assert!(page.contains("already used"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert_eq!(app.audit_rows_for("login_failed").await.len(), 1);
    let logins: Vec<Value> = app.audit_rows_for("login").await;
    assert!(logins.is_empty(), "{logins:#?}");
}

#[tokio::test]
async fn an_idp_error_on_a_device_login_gets_a_readable_page() {
    let app = TestApp::spawn().await;
    let device: Value = app
        .http
        .post(app.endpoint("/oauth/device"))
        .form(&[("client_id", CLI_CLIENT_ID)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = device["user_code"].as_str().unwrap().to_owned();
    let page = app.http.get(app.endpoint("/device")).send().await.unwrap();
    let cookie = page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let csrf = cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let resp = app
        .http
        .post(app.endpoint("/device"))
        .header(header::COOKIE, format!("vault_device_csrf={csrf}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", user_code.as_str()),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "POST /device goes on to the IdP");
    let binding = binding_cookie(&resp);
    let location = url::Url::parse(resp.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let mut callback = url::Url::parse(&app.endpoint("/oauth/callback")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("error", "access_denied")
        .append_pair("error_description", "the person said no");

    let resp = app
        .http
        .get(callback)
        .header(header::COOKIE, &binding)
        .send()
        .await
        .unwrap();

    let page = assert_page(resp, 403, "a refused device login").await;
    assert!(page.contains("the person said no"), "{page}");
    assert_eq!(app.audit_rows_for("login_failed").await.len(), 1);
}
