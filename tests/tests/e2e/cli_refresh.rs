//! The CLI refreshes its own access token: several `vault credential-process` calls racing one
//! refresh make exactly one refresh between them (so reuse detection never trips and the login
//! lives on), and an expired refresh token ends in one clear "log in again" line.

use serde_json::Value;
use std::path::{Path, PathBuf};
use vault_e2e::{Cli, Output, TestApp};

/// The CLI's stored login (file store) under its HOME.
fn tokens_file(cli: &Cli) -> PathBuf {
    fn find(dir: &Path) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if let Some(found) = find(&path) {
                    return Some(found);
                }
            } else if path.file_name().is_some_and(|n| n == "tokens.json") {
                return Some(path);
            }
        }
        None
    }
    find(cli.home()).expect("the CLI stored no tokens.json")
}

/// Makes the stored access token look expired, so the next command must refresh it first.
fn expire_access_token(cli: &Cli) -> String {
    let path = tokens_file(cli);
    let mut tokens: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    tokens["access_expires_at"] = Value::from(0);
    std::fs::write(&path, tokens.to_string()).unwrap();
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

async fn revoked_sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM login_sessions WHERE revoked_at IS NOT NULL")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn credential_process_calls_racing_one_refresh_all_succeed_without_tripping_reuse_detection()
{
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let before = expire_access_token(&cli);

    let racing: Vec<Output> =
        futures_util::future::join_all((0..4).map(|_| cli.run(&["credential-process", "dev"])))
            .await;
    for out in &racing {
        out.assert_success("vault credential-process dev, racing");
        let creds: Value =
            serde_json::from_str(out.stdout.trim()).expect("credential_process JSON");
        assert_eq!(creds["Version"], 1, "{out}");
    }
    let refreshes = app.audit_rows_for("token_refresh").await;
    assert_eq!(
        refreshes.len(),
        1,
        "the racing calls refreshed once between them: {refreshes:#?}"
    );
    assert!(
        app.audit_rows_for("refresh_token_reuse").await.is_empty(),
        "refresh token reuse was detected"
    );
    assert_eq!(revoked_sessions(&app).await, 0, "the login was revoked");
    let after = expire_access_token(&cli);
    assert_ne!(after, before, "the stored refresh token rotated");
    // The login lives on: the next command refreshes again with the rotated token.
    cli.run(&["whoami"])
        .await
        .assert_success("vault whoami after the race");
    assert_eq!(app.audit_rows_for("token_refresh").await.len(), 2);
    assert_eq!(revoked_sessions(&app).await, 0);
}

#[tokio::test]
async fn an_expired_refresh_token_ends_in_one_clear_log_in_again_line() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    expire_access_token(&cli);
    let expired = sqlx::query(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    )
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(
        expired.rows_affected(),
        1,
        "precondition: one live refresh token"
    );

    let out = cli.run(&["credential-process", "dev"]).await;
    out.assert_failure("vault credential-process with an expired refresh token");
    assert_ne!(out.code(), Some(0));
    assert!(out.stdout.trim().is_empty(), "no credentials: {out}");
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("Error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {out}");
    assert!(
        errors[0].contains("expired") && errors[0].contains("run `vault login`"),
        "the error does not say to log in again: {out}"
    );
    assert!(!out.stderr.contains("panicked"), "{out}");
    // The dead login is forgotten: the next command says so at once.
    let next = cli.run(&["whoami"]).await;
    next.assert_failure("vault whoami after the login expired");
    assert!(next.stderr.contains("not logged in"), "{next}");
}
