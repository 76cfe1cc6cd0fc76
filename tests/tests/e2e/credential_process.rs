//! `vault credential-process` as the AWS CLI's `credential_process`.

use vault_api::Credentials;
use vault_e2e::aws::{arn_of, assumed_role_prefix};
use vault_e2e::cli::vault_binary;
use vault_e2e::TestApp;

#[tokio::test]
async fn credential_process_serves_the_aws_cli_from_its_config_file() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    std::fs::write(
        cli.aws_config_file(),
        format!(
            "[profile team-dev]\ncredential_process = {} credential-process dev\nregion = us-east-1\n",
            vault_binary().display()
        ),
    )
    .unwrap();

    let out = cli
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "team-dev",
                "--endpoint-url",
                &app.moto_url,
                "--output",
                "json",
            ],
            &[],
        )
        .await;
    out.assert_success("aws sts get-caller-identity --profile team-dev");

    let arn = arn_of(&out.stdout);
    let expected = format!(
        "{}alice",
        assumed_role_prefix(&app.account_id, &app.role_name("dev"))
    );
    assert!(
        arn.starts_with(&expected),
        "got {arn}, expected {expected}…"
    );
}

#[tokio::test]
async fn credential_process_prints_the_credential_process_shape() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli.run(&["credential-process", "dev"]).await;
    out.assert_success("vault credential-process dev");
    let raw: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{out}"));
    assert_eq!(
        raw["Version"],
        serde_json::json!(1),
        "Version must be the integer 1: {}",
        out.stdout.len()
    );
    let creds: Credentials = serde_json::from_value(raw).expect("credential_process shape");
    assert!(creds.access_key_id.starts_with("ASIA"), "{creds:?}");
    time::OffsetDateTime::parse(
        &creds.expiration,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|e| panic!("Expiration {:?} is not RFC 3339: {e}", creds.expiration));
    app.assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;
}
