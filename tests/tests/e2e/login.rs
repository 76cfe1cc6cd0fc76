//! Logging in through the IdP (browser and device flows), then using the session.

use vault_e2e::aws::assumed_role_prefix;
use vault_e2e::TestApp;

async fn assert_exec_runs_as_alice(app: &TestApp, cli: &vault_e2e::Cli) {
    let arn = cli.exec_caller_identity("dev").await;
    let expected = format!(
        "{}alice",
        assumed_role_prefix(&app.account_id, &app.role_name("dev"))
    );
    assert!(
        arn.starts_with(&expected),
        "the AWS CLI saw {arn}, expected a session starting with {expected}"
    );
    let issued = app.audit_rows_for("credentials_issue").await;
    assert_eq!(issued.len(), 1, "one exec, one issued session: {issued:#?}");
    assert_eq!(issued[0]["principal"], "alice@example.com");
}

#[tokio::test]
async fn browser_login_then_exec_runs_the_aws_cli_as_the_assumed_role() {
    let app = TestApp::spawn().await;
    let cli = app.cli();

    let login = cli.login_browser("alice").await;
    assert!(
        login.stderr.contains("Logged in as alice@example.com"),
        "vault login did not say who logged in:\n{login}"
    );
    assert_exec_runs_as_alice(&app, &cli).await;
    let logins = app.audit_rows_for("login").await;
    assert!(
        logins
            .iter()
            .any(|r| r["principal"] == "alice@example.com" && r["outcome"] == "success"),
        "no successful login audit row for alice: {logins:#?}"
    );
}

#[tokio::test]
async fn device_login_then_exec_runs_the_aws_cli_as_the_assumed_role() {
    let app = TestApp::spawn().await;
    let cli = app.cli();

    let login = cli.login_device("alice").await;
    assert!(
        login.stderr.contains("Logged in as alice@example.com")
            || login.stdout.contains("Logged in as alice@example.com"),
        "vault login --device did not say who logged in:\n{login}"
    );
    assert!(
        login.stderr.contains("Code: ") || login.stdout.contains("Code: "),
        "vault login --device showed no user code:\n{login}"
    );
    assert_exec_runs_as_alice(&app, &cli).await;
    let approvals = app.audit_rows_for("device_approve").await;
    assert!(!approvals.is_empty(), "the device approval was not audited");
}
