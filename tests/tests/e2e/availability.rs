//! Fail closed: no audit, no credentials.

use std::time::Duration;
use vault_api::ErrorBody;
use vault_e2e::{logs, poll, TestApp};

async fn assert_503_without_credentials(resp: reqwest::Response, what: &str) {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 503, "{what}: {body}");
    assert!(
        !body.contains("AccessKeyId"),
        "{what}: credentials left the server: {body}"
    );
    assert!(
        !body.contains("ASIA"),
        "{what}: a session key left the server: {body}"
    );
    serde_json::from_str::<ErrorBody>(&body)
        .unwrap_or_else(|e| panic!("{what}: the 503 body is not an ErrorBody ({e}): {body}"));
}

#[tokio::test]
async fn credential_requests_get_503_and_no_credentials_while_the_database_is_unreachable() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let token = oauth.login("alice").await.access_token;
    oauth.credentials(&token, "dev").await;

    app.make_database_unreachable().await;
    let resp = oauth
        .post_json(
            &token,
            "/v1/credentials",
            &serde_json::json!({"profile": "dev"}),
        )
        .await;
    assert_503_without_credentials(resp, "POST /v1/credentials").await;
    let resp = oauth
        .post_json(&token, "/assume-role", &serde_json::json!({"Role": "dev"}))
        .await;
    assert_503_without_credentials(resp, "POST /assume-role").await;
    let ready = app.http.get(app.endpoint("/readyz")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        503,
        "/readyz claims ready without its database"
    );

    app.restore_database().await;
    poll::until(
        "credentials after the database came back",
        Duration::from_secs(30),
        || async {
            let resp = oauth
                .post_json(
                    &token,
                    "/v1/credentials",
                    &serde_json::json!({"profile": "dev"}),
                )
                .await;
            (resp.status() == 200).then_some(())
        },
    )
    .await;
    assert_eq!(app.audit_rows_for("credentials_issue").await.len(), 2);
}

#[tokio::test]
async fn credentials_are_withheld_when_the_audit_write_fails() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let token = oauth.login("alice").await.access_token;
    // A real Postgres refusal of exactly the audit insert that must precede any credential.
    app.refuse_audit_events("credentials_issue").await;

    let resp = oauth
        .post_json(
            &token,
            "/v1/credentials",
            &serde_json::json!({"profile": "dev"}),
        )
        .await;
    let request_id = vault_e2e::logs::request_id(&resp);

    assert_503_without_credentials(resp, "POST /v1/credentials with a failing audit write").await;
    // The refusal is the audit write's: the server logged Postgres's reason for this request,
    // once (the writer logs it; nothing above it logs it again).
    let lines = logs::of_request(&request_id);
    let logged = lines
        .iter()
        .filter(|l| l.contains("e2e: audit storage refuses this write"))
        .count();
    assert_eq!(
        logged,
        1,
        "request {request_id} must log the refused audit write exactly once:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn a_refusal_by_aws_gives_502_no_credentials_and_a_failure_audit_row() {
    // A moto that checks every signature: the server's static test key is unknown to it.
    let moto = vault_e2e::moto::OwnMoto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]).await;
    let app = TestApp::builder().moto_url(&moto.url).spawn().await;
    let oauth = app.oauth();
    let token = oauth.login("alice").await.access_token;

    let resp = oauth
        .post_json(
            &token,
            "/v1/credentials",
            &serde_json::json!({"profile": "dev"}),
        )
        .await;

    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 502, "{body}");
    assert!(!body.contains("AccessKeyId"), "{body}");
    serde_json::from_str::<ErrorBody>(&body)
        .unwrap_or_else(|e| panic!("the 502 body is not an ErrorBody ({e}): {body}"));
    let rows = app.audit_rows_for("credentials_issue").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["outcome"], "failure", "{:#}", rows[0]);
    assert_eq!(rows[0]["principal"], "alice@example.com");
    assert!(rows[0]["access_key_id"].is_null(), "{:#}", rows[0]);
    assert!(
        rows[0]["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{:#}",
        rows[0]
    );

    let cli = app.cli();
    cli.login_browser("alice").await;
    let out = cli
        .run(&["exec", "dev", "--", "sh", "-c", "echo child-ran"])
        .await;
    out.assert_failure("vault exec while AWS refuses");
    assert!(!out.stdout.contains("child-ran"), "{out}");
    assert!(out.stderr.contains("Error:"), "{out}");
}
