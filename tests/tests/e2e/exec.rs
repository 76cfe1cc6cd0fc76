//! `vault exec`: the child's environment, exit codes, durations, nesting.

use vault_e2e::aws::{credentials_from_env, parse_env};
use vault_e2e::cli::vault_binary;
use vault_e2e::TestApp;

#[tokio::test]
async fn exec_gives_the_child_the_session_and_drops_inherited_aws_settings() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli
        .run_with_env(
            &["exec", "dev", "--", "env"],
            &[
                ("AWS_PROFILE", "someone-else"),
                ("AWS_ACCESS_KEY_ID", "AKIAINHERITED"),
            ],
        )
        .await;
    out.assert_success("vault exec dev -- env");
    let env = parse_env(&out.stdout);

    assert_eq!(env.get("AWS_VAULT").map(String::as_str), Some("dev"));
    assert_eq!(env.get("AWS_REGION").map(String::as_str), Some("us-east-1"));
    assert_eq!(
        env.get("AWS_DEFAULT_REGION").map(String::as_str),
        Some("us-east-1")
    );
    assert!(
        !env.contains_key("AWS_PROFILE"),
        "inherited AWS_PROFILE survived: {env:?}"
    );
    let creds = credentials_from_env(&env);
    assert!(
        creds.access_key_id.starts_with("ASIA"),
        "not a session key: {creds:?}"
    );
    assert!(
        !creds.expiration.is_empty(),
        "AWS_CREDENTIAL_EXPIRATION is not set"
    );
    app.assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;
}

#[tokio::test]
async fn exec_propagates_the_childs_exit_code() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli.run(&["exec", "dev", "--", "sh", "-c", "exit 7"]).await;

    assert_eq!(out.code(), Some(7), "{out}");
}

#[tokio::test]
async fn exec_refuses_to_run_inside_another_exec() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let vault = vault_binary();
    let vault = vault.to_str().unwrap();

    let out = cli
        .run(&[
            "exec",
            "dev",
            "--",
            vault,
            "exec",
            "dev",
            "--",
            "sh",
            "-c",
            "echo inner-ran",
        ])
        .await;

    out.assert_failure("nested vault exec");
    assert!(
        !out.stdout.contains("inner-ran"),
        "the nested command ran:\n{out}"
    );
    assert!(out.stderr.contains("Error:"), "no error line:\n{out}");
    assert!(
        out.stderr.contains("AWS_VAULT") || out.stderr.to_lowercase().contains("nest"),
        "the error does not say why (nesting / AWS_VAULT):\n{out}"
    );
}

#[tokio::test]
async fn exec_refuses_a_duration_above_the_profiles_maximum_and_names_it() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli
        .run(&[
            "exec",
            "dev",
            "-d",
            "5h",
            "--",
            "sh",
            "-c",
            "echo child-ran",
        ])
        .await;

    out.assert_failure("vault exec dev -d 5h");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        !out.stdout.contains("child-ran"),
        "the command ran anyway:\n{out}"
    );
    let err = out.stderr.to_lowercase();
    assert!(
        err.contains("max")
            && (err.contains("1h") || err.contains("3600") || err.contains("1 hour")),
        "the refusal does not name the maximum (1h):\n{out}"
    );
    let denied = app.audit_rows_for("credentials_deny").await;
    assert_eq!(
        denied.len(),
        1,
        "the denial was not audited once: {denied:#?}"
    );
    assert_eq!(denied[0]["duration_seconds"], 5 * 3600, "{:#}", denied[0]);
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());
}

#[tokio::test]
async fn exec_accepts_a_duration_within_the_maximum() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli.run(&["exec", "dev", "-d", "30m", "--", "env"]).await;
    out.assert_success("vault exec dev -d 30m");

    let creds = credentials_from_env(&parse_env(&out.stdout));
    let row = app
        .assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;
    assert_eq!(row["duration_seconds"], 1800, "{row:#}");
}

#[tokio::test]
async fn exec_uses_the_profiles_default_duration_unless_asked_for_another() {
    let app = TestApp::builder()
        .profiles(vec![vault_e2e::ProfileSpec::new(
            "sandbox",
            "team-sandbox",
            &["dev"],
        )
        .durations("15m", "2h")])
        .spawn()
        .await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let default = credentials_from_env(&cli.exec_env("sandbox").await);
    let out = cli.run(&["exec", "sandbox", "-d", "2h", "--", "env"]).await;
    out.assert_success("vault exec sandbox -d 2h");
    let longest = credentials_from_env(&parse_env(&out.stdout));

    let row = app
        .assert_issue_audited(&default, "alice@example.com", "sandbox")
        .await;
    assert_eq!(row["duration_seconds"], 900, "{row:#}");
    let row = app
        .assert_issue_audited(&longest, "alice@example.com", "sandbox")
        .await;
    assert_eq!(row["duration_seconds"], 7200, "{row:#}");
    let refused = cli
        .run(&["exec", "sandbox", "-d", "3h", "--", "true"])
        .await;
    refused.assert_failure("vault exec sandbox -d 3h");
    assert!(
        refused.stderr.contains("2h") || refused.stderr.contains("7200"),
        "{refused}"
    );
}
