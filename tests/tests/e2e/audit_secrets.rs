//! No audit event, in the table or through the admin API, holds a secret: no secret access key,
//! session token, access token or refresh token, after every kind of event that handles them.

use vault_api::Credentials;
use vault_e2e::aws::credentials_from_env;
use vault_e2e::cli::refresh_tokens_in;
use vault_e2e::TestApp;

#[tokio::test]
async fn no_audit_event_contains_a_secret_key_session_token_or_refresh_token() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let mut secrets: Vec<String> = Vec::new();
    let mut issued: Vec<Credentials> = Vec::new();

    // Logins, refreshes (each rotates the refresh token), issues, a denial.
    let first = oauth.login("alice").await;
    let second = oauth.refresh_ok(&first.refresh_token).await;
    let third = oauth.refresh_ok(&second.refresh_token).await;
    issued.push(oauth.credentials(&third.access_token, "dev").await);
    let resp = oauth
        .post_json(
            &third.access_token,
            "/assume-role",
            &serde_json::json!({"Role": "dev"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    issued.push(resp.json().await.unwrap());
    let denied = oauth
        .post_json(
            &third.access_token,
            "/v1/credentials",
            &serde_json::json!({"profile": "ops"}),
        )
        .await;
    assert_eq!(denied.status(), 403);
    // Reusing a rotated refresh token: detected, the login revoked.
    let reuse = oauth.refresh(&first.refresh_token).await;
    assert!(
        reuse.status().is_client_error(),
        "refresh token reuse was accepted"
    );
    for t in [&first, &second, &third] {
        secrets.extend([t.access_token.clone(), t.refresh_token.clone()]);
    }

    // The CLI: a device login, credential-process and exec, then logout.
    let cli = app.cli();
    cli.login_device("bob").await;
    let out = cli.run(&["credential-process", "ops"]).await;
    out.assert_success("vault credential-process ops");
    issued.push(serde_json::from_str(out.stdout.trim()).unwrap());
    issued.push(credentials_from_env(&cli.exec_env("dev").await));
    secrets.extend(refresh_tokens_in(&cli.stored_text()));
    cli.run(&["logout"]).await.assert_success("vault logout");

    for c in &issued {
        secrets.extend([c.secret_access_key.clone(), c.session_token.clone()]);
    }
    let admin = oauth.login("admin").await;
    secrets.extend([admin.access_token.clone(), admin.refresh_token.clone()]);

    let actions: Vec<String> = app
        .audit_rows()
        .await
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    for needed in [
        "login",
        "token_refresh",
        "refresh_token_reuse",
        "credentials_issue",
        "credentials_deny",
        "logout",
    ] {
        assert!(
            actions.iter().any(|a| a == needed),
            "precondition: a {needed} event was written ({actions:?})"
        );
    }

    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    app.assert_no_secret_in_audit(&secrets).await;
    let api = app.audit_api(&admin.access_token);
    let exported = api.export_text(&[]).await;
    let table = app
        .audit_rows()
        .await
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !exported.contains(secret),
            "secret #{i} appears in the export"
        );
    }
    // Not even tokens the test did not capture: no refresh token, no JWT anywhere.
    for (what, text) in [("the table", &table), ("the export", &exported)] {
        assert!(!text.contains("tvr_"), "a refresh token appears in {what}");
        assert!(
            !text.contains("eyJ"),
            "something JWT-like appears in {what}"
        );
    }
}
