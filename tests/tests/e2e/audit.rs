//! The audit trail: every issued session is recorded, no secret is, and rows cannot change.

use vault_api::Credentials;
use vault_e2e::aws::credentials_from_env;
use vault_e2e::cli::refresh_tokens_in;
use vault_e2e::{logs, TestApp};

#[tokio::test]
async fn every_issued_session_is_audited_and_no_secret_is_stored_or_logged() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let tokens = oauth.login("alice").await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let cli_refresh_tokens = refresh_tokens_in(&cli.stored_text());

    let mut issued: Vec<Credentials> = vec![oauth.credentials(&tokens.access_token, "dev").await];
    let resp = oauth
        .post_json(
            &tokens.access_token,
            "/assume-role",
            &serde_json::json!({"Role": "dev"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    issued.push(resp.json().await.expect("credentials"));
    let out = cli.run(&["credential-process", "dev"]).await;
    out.assert_success("vault credential-process dev");
    issued.push(serde_json::from_str(out.stdout.trim()).expect("credential_process JSON"));
    issued.push(credentials_from_env(&cli.exec_env("dev").await));

    let mut key_ids: Vec<&str> = issued.iter().map(|c| c.access_key_id.as_str()).collect();
    key_ids.sort();
    key_ids.dedup();
    // credential-process and exec may share the CLI's cached session: at least three distinct.
    assert!(
        key_ids.len() >= 3,
        "expected distinct sessions, got {key_ids:?}"
    );
    let mut request_ids = Vec::new();
    for creds in &issued {
        let row = app
            .assert_issue_audited(creds, "alice@example.com", "dev")
            .await;
        let id = row["request_id"]
            .as_str()
            .expect("an issue row names its request");
        request_ids.push(id.to_owned());
    }

    let mut secrets: Vec<&str> = Vec::new();
    for creds in &issued {
        secrets.extend([
            creds.secret_access_key.as_str(),
            creds.session_token.as_str(),
        ]);
    }
    secrets.extend([tokens.access_token.as_str(), tokens.refresh_token.as_str()]);
    secrets.extend(cli_refresh_tokens.iter().map(String::as_str));
    app.assert_no_secret_in_audit(&secrets).await;

    // The capture really holds this server's output: every request that issued a session is in it.
    for id in &request_ids {
        assert!(
            !logs::of_request(id).is_empty(),
            "the log capture has no line of request {id}, which issued a session"
        );
    }
    let log = logs::captured();
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !log.contains(secret),
            "secret #{i} appears in the server's log output"
        );
    }
}

#[tokio::test]
async fn the_audit_table_refuses_update_and_delete() {
    let app = TestApp::spawn().await;
    app.oauth().login("alice").await;
    let before = app.audit_rows().await;
    assert!(!before.is_empty(), "the login wrote no audit row");

    let update = sqlx::query("UPDATE audit_events SET reason = 'tampered'")
        .execute(&app.db)
        .await;
    let delete = sqlx::query("DELETE FROM audit_events")
        .execute(&app.db)
        .await;
    let truncate = sqlx::query("TRUNCATE audit_events").execute(&app.db).await;

    assert!(update.is_err(), "UPDATE succeeded: {update:?}");
    assert!(delete.is_err(), "DELETE succeeded: {delete:?}");
    assert!(truncate.is_err(), "TRUNCATE succeeded: {truncate:?}");
    assert_eq!(app.audit_rows().await, before, "the audit rows changed");
}
