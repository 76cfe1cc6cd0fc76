//! `vault list`, `vault whoami`, `vault logout`.

use vault_api::OAuthErrorBody;
use vault_e2e::cli::refresh_tokens_in;
use vault_e2e::TestApp;

/// The words of some output (profile names are made of these characters).
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[tokio::test]
async fn list_shows_only_the_profiles_the_user_may_assume() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli.run(&["list"]).await;

    out.assert_success("vault list");
    let shown = words(&out.stdout);
    assert!(shown.contains(&"dev"), "dev is missing:\n{out}");
    assert!(!shown.contains(&"ops"), "alice may not assume ops:\n{out}");
    assert!(
        !shown.contains(&"admin-only"),
        "alice may not assume admin-only:\n{out}"
    );
}

#[tokio::test]
async fn whoami_shows_the_logged_in_user() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli.run(&["whoami"]).await;

    out.assert_success("vault whoami");
    assert!(out.stdout.contains("alice@example.com"), "{out}");
}

#[tokio::test]
async fn whoami_without_a_login_fails_with_a_hint() {
    let app = TestApp::spawn().await;
    let cli = app.cli();

    let out = cli.run(&["whoami"]).await;

    out.assert_failure("vault whoami before login");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains("Error:") && out.stderr.contains("hint:"),
        "{out}"
    );
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[tokio::test]
async fn logout_revokes_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let stored = refresh_tokens_in(&cli.stored_text());
    assert!(
        !stored.is_empty(),
        "found no tvr_ refresh token in the CLI's files"
    );

    cli.run(&["logout"]).await.assert_success("vault logout");

    for token in &stored {
        let resp = app.oauth().refresh(token).await;
        assert_eq!(resp.status(), 400, "a logged-out refresh token still works");
        let body: OAuthErrorBody = resp.json().await.expect("OAuth error body");
        assert_eq!(body.error, "invalid_grant");
    }
    assert!(
        refresh_tokens_in(&cli.stored_text()).is_empty(),
        "the CLI kept the refresh token after logout"
    );
    let logouts = app.audit_rows_for("logout").await;
    assert_eq!(logouts.len(), 1, "{logouts:#?}");
    assert_eq!(logouts[0]["principal"], "alice@example.com");
    cli.run(&["whoami"])
        .await
        .assert_failure("vault whoami after logout");
}

#[tokio::test]
async fn export_prints_one_session_in_each_format() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let json = cli.run(&["export", "dev", "--format", "json"]).await;
    json.assert_success("vault export dev --format json");
    let creds: vault_api::Credentials =
        serde_json::from_str(json.stdout.trim()).unwrap_or_else(|e| {
            panic!("--format json is not the credential_process shape ({e}):\n{json}")
        });
    app.assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;

    let env = cli.run(&["export", "dev", "--format", "env"]).await;
    env.assert_success("vault export dev --format env");
    let ini = cli.run(&["export", "dev", "--format", "ini"]).await;
    ini.assert_success("vault export dev --format ini");
    for (format, out, key) in [
        ("env", &env, "AWS_SECRET_ACCESS_KEY"),
        ("ini", &ini, "aws_secret_access_key"),
    ] {
        assert!(
            out.stdout.contains(&creds.access_key_id),
            "{format} shows another session:\n{out}"
        );
        assert!(out.stdout.contains(key), "{format} lacks {key}:\n{out}");
        assert!(
            out.stdout.contains(&creds.secret_access_key),
            "{format} lacks the secret"
        );
        assert!(
            out.stdout.contains(&creds.session_token),
            "{format} lacks the session token"
        );
    }
}
