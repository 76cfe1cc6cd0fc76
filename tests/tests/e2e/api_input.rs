//! Bad input to the credentials API gets a clear JSON 4xx, never a 500; the mairu API works.

use vault_api::{Credentials, ErrorBody};
use vault_e2e::aws::assumed_role_prefix;
use vault_e2e::TestApp;

/// Sends a raw body to `POST path` and asserts a 4xx with an `ErrorBody`.
async fn assert_json_4xx(
    app: &TestApp,
    token: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> ErrorBody {
    let mut req = app
        .http
        .post(app.endpoint(path))
        .bearer_auth(token)
        .body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(
        status.is_client_error(),
        "POST {path} {body:?} answered {status}, expected a 4xx: {text}"
    );
    assert!(
        !text.contains("AccessKeyId"),
        "credentials in an error: {text}"
    );
    let parsed: ErrorBody = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("POST {path} {body:?} ({status}): body is not an ErrorBody ({e}): {text}")
    });
    assert!(
        !parsed.error.is_empty() && !parsed.message.is_empty(),
        "{text}"
    );
    parsed
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn credentials_answers_malformed_json_with_a_json_4xx() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;

    for body in [
        "{not json",
        "",
        "[]",
        "\"dev\"",
        "{\"profile\": 42}",
        "{\"profile\": \"dev\", \"duration_seconds\": -5}",
    ] {
        assert_json_4xx(&app, &token, "/v1/credentials", JSON, body).await;
    }
}

#[tokio::test]
async fn credentials_answers_missing_or_unknown_fields_with_a_json_4xx() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;

    assert_json_4xx(&app, &token, "/v1/credentials", JSON, "{}").await;
    assert_json_4xx(
        &app,
        &token,
        "/v1/credentials",
        JSON,
        r#"{"duration_seconds": 900}"#,
    )
    .await;
    assert_json_4xx(
        &app,
        &token,
        "/v1/credentials",
        JSON,
        r#"{"profile": "dev", "role_arn": "arn:aws:iam::1:role/x"}"#,
    )
    .await;
    assert_json_4xx(&app, &token, "/assume-role", JSON, "{}").await;
}

#[tokio::test]
async fn credentials_answers_a_body_without_json_content_type_with_a_json_4xx() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;

    assert_json_4xx(
        &app,
        &token,
        "/v1/credentials",
        None,
        r#"{"profile":"dev"}"#,
    )
    .await;
    assert_json_4xx(
        &app,
        &token,
        "/v1/credentials",
        Some("text/plain"),
        r#"{"profile":"dev"}"#,
    )
    .await;
}

#[tokio::test]
async fn credentials_answers_an_unknown_profile_with_a_json_4xx_and_audits_it() {
    let app = TestApp::spawn().await;
    let token = app.oauth().login("alice").await.access_token;

    let err = assert_json_4xx(
        &app,
        &token,
        "/v1/credentials",
        JSON,
        r#"{"profile":"no-such-profile"}"#,
    )
    .await;

    assert!(
        err.message.contains("no-such-profile"),
        "the message does not name the profile: {err:?}"
    );
    let denied = app.audit_rows_for("credentials_deny").await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());
}

#[tokio::test]
async fn assume_role_serves_the_mairu_api() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let token = oauth.login("alice").await.access_token;

    let resp = oauth
        .post_json(&token, "/assume-role", &serde_json::json!({"Role": "dev"}))
        .await;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let creds: Credentials = serde_json::from_str(&body).expect("credential_process shape");
    assert_eq!(creds.version, 1);

    let arn = app.cli().caller_identity_with(&creds).await;
    let expected = format!(
        "{}alice",
        assumed_role_prefix(&app.account_id, &app.role_name("dev"))
    );
    assert!(
        arn.starts_with(&expected),
        "got {arn}, expected {expected}…"
    );
    app.assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;

    let resp = oauth
        .post_json(&token, "/assume-role", &serde_json::json!({"Role": "ops"}))
        .await;
    assert_eq!(
        resp.status(),
        403,
        "alice may not assume ops through the mairu API either"
    );
}
