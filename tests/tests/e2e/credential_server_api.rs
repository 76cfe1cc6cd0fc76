//! The credential-server API as third-party clients (mairu) speak it: `POST /assume-role` with
//! no `Content-Type`, `GET /roles`, and their refusals.

use vault_api::{Credentials, RoleList};
use vault_e2e::TestApp;

/// `POST /assume-role {"Role":"dev"}` with `token`, and with `content_type` when given.
async fn assume_dev(app: &TestApp, token: &str, content_type: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.endpoint("/assume-role"))
        .bearer_auth(token)
        .body(r#"{"Role":"dev"}"#.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.expect("assume-role")
}

#[tokio::test]
async fn assume_role_without_a_content_type_returns_credentials_that_work_against_sts() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let resp = assume_dev(&app, &token, None).await;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let creds: Credentials = serde_json::from_str(&body).expect("credential_process shape");
    let arn = app.cli().caller_identity_with(&creds).await;
    assert!(arn.contains(&app.role_name("dev")), "got {arn}");
}

#[tokio::test]
async fn assume_role_with_a_non_json_content_type_is_an_audited_415_json_error() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let resp = assume_dev(&app, &token, Some("text/plain")).await;
    assert_eq!(resp.status(), 415);
    let body: serde_json::Value = resp.json().await.expect("JSON error");
    assert_eq!(body["error"], "unsupported_media_type", "{body}");
    let denied = app.audit_rows_for("credentials_deny").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());
}

#[tokio::test]
async fn roles_lists_exactly_the_profiles_alice_may_assume() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let resp = app
        .http
        .get(app.endpoint("/roles"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("roles");
    assert_eq!(resp.status(), 200);
    let roles: RoleList = resp.json().await.expect("Roles shape");
    let names: Vec<_> = roles.roles.into_iter().map(|r| r.name).collect();
    assert_eq!(names, vec!["dev".to_owned()]);
}

#[tokio::test]
async fn roles_and_assume_role_answer_a_bad_token_with_401_and_www_authenticate() {
    let app = TestApp::spawn().await;
    let roles = app
        .http
        .get(app.endpoint("/roles"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("roles");
    for resp in [roles, assume_dev(&app, "not-a-token", None).await] {
        assert_eq!(resp.status(), 401);
        let www = resp.headers().get("www-authenticate").expect("header");
        assert!(www.to_str().unwrap_or_default().contains("invalid_token"));
    }
}
