//! The credential-server API as third-party clients (mairu) speak it: `POST /assume-role` with
//! no `Content-Type`, `GET /roles`, and their refusals.

use vault_api::RoleList;
use vault_e2e::clients::{assert_dev_credentials_work, assume_dev};
use vault_e2e::TestApp;

#[tokio::test]
async fn assume_role_without_a_content_type_returns_credentials_that_work_against_sts() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let resp = assume_dev(&app, &token, None).await;
    assert_dev_credentials_work(&app, resp).await;
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
