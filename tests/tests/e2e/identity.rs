//! Identity nobody can borrow (issue 11): a person is named by a verified email, and session
//! names stay unique per principal, through the dev IdP, the server and moto.

use sha2::{Digest, Sha256};
use vault_e2e::aws::assumed_role_prefix;
use vault_e2e::login::autologin;
use vault_e2e::oauth::{pkce_challenge, random_b64, REDIRECT_URI};
use vault_e2e::TestApp;

/// The suffix the server promises: `-` and 8 hex digits of SHA-256(principal id).
fn suffix_of(principal_id: &str) -> String {
    format!(
        "-{}",
        &hex::encode(Sha256::digest(principal_id.as_bytes()))[..8]
    )
}

/// `login`'s `dev` session, issued and audited as `display`: the audit row and its principal id.
async fn issued_dev_session(
    app: &TestApp,
    login: &str,
    display: &str,
) -> (vault_api::Credentials, serde_json::Value, String) {
    let oauth = app.oauth();
    let tokens = oauth.login(login).await;
    let creds = oauth.credentials(&tokens.access_token, "dev").await;
    let row = app.assert_issue_audited(&creds, display, "dev").await;
    let principal_id = row["principal_id"]
        .as_str()
        .expect("principal_id")
        .to_owned();
    (creds, row, principal_id)
}

/// The session carries `want` as its name and source identity, in the trail and at STS (the
/// assumed-role ARN moto hands back names the session).
async fn assert_named(
    app: &TestApp,
    creds: &vault_api::Credentials,
    row: &serde_json::Value,
    want: &str,
) {
    assert_eq!(row["session_name"], want, "{row:#}");
    assert_eq!(row["source_identity"], want, "{row:#}");
    let arn = app.cli().caller_identity_with(creds).await;
    assert_eq!(
        arn,
        format!(
            "{}{want}",
            assumed_role_prefix(&app.account_id, &app.role_name("dev"))
        )
    );
}

#[tokio::test]
async fn an_accented_email_becomes_a_session_name_with_the_principals_own_suffix() {
    let app = TestApp::spawn().await;
    let (creds, row, principal_id) = issued_dev_session(&app, "zoe", "zoë@example.com").await;
    let expected = format!("zo-@example.com{}", suffix_of(&principal_id));
    assert_named(&app, &creds, &row, &expected).await;
}

#[tokio::test]
async fn a_plain_email_stays_the_session_name_exactly() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let tokens = oauth.login("alice").await;
    let creds = oauth.credentials(&tokens.access_token, "dev").await;
    let row = app
        .assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;
    assert_eq!(row["session_name"], "alice@example.com", "{row:#}");
    assert_eq!(row["source_identity"], "alice@example.com", "{row:#}");
}

#[tokio::test]
async fn a_person_whose_verified_email_an_older_principal_already_had_gets_their_own_suffix() {
    let app = TestApp::spawn().await;
    // An older principal with alice's email: another subject the IdP once gave that address
    // (an account deleted and made again, a second issuer).
    sqlx::query(
        "INSERT INTO principals (id, kind, issuer, subject, display, created_at, last_seen_at)
         VALUES (gen_random_uuid(), 'user', 'https://old-idp.example', 'old-subject',
                 'alice@example.com', now() - interval '1 year', now() - interval '1 year')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (creds, row, principal_id) = issued_dev_session(&app, "alice", "alice@example.com").await;
    let want = format!("alice@example.com{}", suffix_of(&principal_id));
    assert_named(&app, &creds, &row, &want).await;
}

#[tokio::test]
async fn a_login_whose_email_is_unverified_is_refused_with_the_reason_and_audited() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let verifier = random_b64(32);
    let state = random_b64(16);
    let url = oauth.authorize_url(&pkce_challenge(&verifier), &state, REDIRECT_URI);
    // autologin.js exits 1 when the login ends with an error, after printing where it went.
    let out = autologin("eve", url.as_str(), &["--print-loopback"])
        .await
        .expect_err("eve's login succeeded");
    let out = format!("{out:#}");
    let loopback = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("LOOPBACK="))
        .unwrap_or_else(|| panic!("no LOOPBACK= line:\n{out}"));
    let loopback = url::Url::parse(loopback).expect("LOOPBACK is a URL");
    let param = |name: &str| {
        loopback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        param("error").as_deref(),
        Some("access_denied"),
        "{loopback}"
    );
    assert!(param("code").is_none(), "a code was handed out: {loopback}");
    let description = param("error_description").unwrap_or_default();
    assert!(
        description.contains("email address is not verified"),
        "the reason does not say why: {description}"
    );

    let refused = app.audit_rows_for("login_refused").await;
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["outcome"], "denied");
    assert_eq!(refused[0]["details"]["code"], "email_unverified");
    assert_eq!(refused[0]["details"]["subject"], "eve");
    let principals: i64 = sqlx::query_scalar("SELECT count(*) FROM principals WHERE kind = 'user'")
        .fetch_one(&app.db)
        .await
        .expect("counting principals");
    assert_eq!(principals, 0, "eve became a principal");
}

#[tokio::test]
async fn a_device_login_whose_email_is_unverified_shows_a_page_saying_why() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .post(app.endpoint("/oauth/device"))
        .form(&[("client_id", vault_api::CLI_CLIENT_ID)])
        .send()
        .await
        .expect("POST /oauth/device");
    assert_eq!(resp.status(), 200);
    let device: vault_api::DeviceAuthorizationResponse =
        resp.json().await.expect("device response");
    // autologin.js fails on the callback's refusal and shows the page's status and text.
    let refused = autologin("eve", &device.verification_uri_complete, &[])
        .await
        .expect_err("eve's device login was approved");
    let refused = format!("{refused:#}");
    assert!(refused.contains("403"), "{refused}");
    assert!(
        refused.contains("email address is not verified"),
        "the page does not say why: {refused}"
    );
    let rows = app.audit_rows_for("login_refused").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["details"]["code"], "email_unverified");
    assert_eq!(rows[0]["details"]["flow"], "device");
}
