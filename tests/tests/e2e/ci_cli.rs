//! The real `vault` binary in a CI job: no login, the job's OIDC token from GitHub Actions'
//! token endpoint (or VAULT_ID_TOKEN / --ci-token-file), the AWS CLI running under `vault exec`.

use serde_json::json;
use std::time::{Duration, Instant};
use vault_e2e::aws::{arn_of, assumed_role_prefix};
use vault_e2e::ci_issuer::{spawn_ci_app, AUDIENCE};

const SUBJECT: &str = "repo:acme/app:ref:refs/heads/main";

/// Everything a GitHub Actions job's environment would hold for the CLI.
fn github_env(issuer: &vault_e2e::ci_issuer::CiIssuer) -> Vec<(&'static str, String)> {
    vec![
        ("CI", "true".into()),
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_REPOSITORY", "acme/app".into()),
        ("GITHUB_RUN_ID", issuer.run_id().into()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.actions_request_url()),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            issuer.actions_request_token().into(),
        ),
    ]
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn a_github_actions_job_runs_the_aws_cli_through_vault_exec_without_login() {
    let (issuer, app) = spawn_ci_app().await;
    let cli = app.cli();
    let env = github_env(&issuer);
    let moto = app.moto_url.clone();

    let out = cli
        .run_with_env(
            &[
                "exec",
                "deploy",
                "--",
                "aws",
                "sts",
                "get-caller-identity",
                "--endpoint-url",
                &moto,
                "--output",
                "json",
            ],
            &pairs(&env),
        )
        .await;

    out.assert_success("vault exec deploy -- aws sts get-caller-identity (GitHub Actions)");
    let arn = arn_of(&out.stdout);
    let name = format!("gha-acme-app-{}", issuer.run_id());
    assert!(arn.contains("gha-acme-app-"), "{arn}");
    assert_eq!(
        arn,
        format!(
            "{}{name}",
            assumed_role_prefix(&app.account_id, &app.role_name("deploy"))
        )
    );

    // The CLI asked GitHub's endpoint once, for our audience, with the request token.
    let asked = issuer.actions_requests();
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert_eq!(asked[0].audience.as_deref(), Some(AUDIENCE), "{asked:#?}");
    assert_eq!(
        asked[0].query.get("api-version").map(String::as_str),
        Some("2.0"),
        "the URL's own query was dropped: {asked:#?}"
    );
    assert!(
        asked[0].authorization.as_deref().is_some_and(
            |a| a.eq_ignore_ascii_case(&format!("bearer {}", issuer.actions_request_token()))
        ),
        "{asked:#?}"
    );

    let exchanges = app.audit_rows_for("ci_exchange").await;
    assert_eq!(exchanges.len(), 1, "{exchanges:#?}");
    assert_eq!(exchanges[0]["outcome"], "success");
    assert_eq!(exchanges[0]["principal"], SUBJECT);
    let issued = app.audit_rows_for("credentials_issue").await;
    assert_eq!(issued.len(), 1, "{issued:#?}");
    assert_eq!(issued[0]["principal"], SUBJECT);
    assert_eq!(issued[0]["session_name"], name.as_str());

    // Nothing the job got was written to its disk.
    let stored = cli.stored_text();
    assert!(!stored.contains("eyJ"), "a JWT was written under HOME");
    assert!(
        !stored.contains("ASIA"),
        "an AWS session was written under HOME"
    );
    assert!(!out.stderr.contains("eyJ"), "a token was printed:\n{out}");
}

#[tokio::test]
async fn in_ci_without_a_token_source_exec_fails_fast_naming_the_variables() {
    let (issuer, app) = spawn_ci_app().await;
    let cli = app.cli();

    let started = Instant::now();
    let out = cli
        .run_with_env(
            &["exec", "deploy", "--", "sh", "-c", "echo child-ran"],
            &[("CI", "true")],
        )
        .await;
    let took = started.elapsed();

    out.assert_failure("vault exec in CI without a token");
    assert!(!out.stdout.contains("child-ran"), "{out}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {out}");
    for var in [
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "VAULT_ID_TOKEN",
    ] {
        assert!(
            out.stderr.contains(var),
            "the error does not name {var}:\n{out}"
        );
    }
    assert!(
        !out.stderr.contains("Open this URL") && !out.stderr.contains("/oauth/authorize"),
        "it offered a browser login in CI:\n{out}"
    );
    assert!(issuer.actions_requests().is_empty());
    assert!(app.audit_rows_for("ci_exchange").await.is_empty());
}

#[tokio::test]
async fn in_ci_with_half_of_the_github_variables_the_error_says_which_is_missing() {
    let (issuer, app) = spawn_ci_app().await;
    let cli = app.cli();
    let url = issuer.actions_request_url();
    let out = cli
        .run_with_env(
            &["exec", "deploy", "--", "sh", "-c", "echo child-ran"],
            &[("CI", "true"), ("ACTIONS_ID_TOKEN_REQUEST_URL", &url)],
        )
        .await;
    out.assert_failure("vault exec with only ACTIONS_ID_TOKEN_REQUEST_URL");
    assert!(!out.stdout.contains("child-ran"), "{out}");
    assert!(
        out.stderr.contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        "the error does not name the missing variable:\n{out}"
    );
}

#[tokio::test]
async fn a_gitlab_style_vault_id_token_and_a_token_file_work_too() {
    let (issuer, app) = spawn_ci_app().await;
    let cli = app.cli();

    let token = issuer.mint(json!({"run_id": "5550001"}));
    let out = cli
        .run_with_env(
            &["exec", "deploy", "--", "env"],
            &[("CI", "true"), ("VAULT_ID_TOKEN", &token)],
        )
        .await;
    out.assert_success("vault exec with VAULT_ID_TOKEN");
    assert!(out.stdout.contains("AWS_SESSION_TOKEN="), "{out}");

    let file = cli.home().join("job-token");
    std::fs::write(
        &file,
        format!("{}\n", issuer.mint(json!({"run_id": "5550002"}))),
    )
    .unwrap();
    let file = file.to_str().unwrap().to_owned();
    let out = cli
        .run_with_env(
            &["exec", "--ci-token-file", &file, "deploy", "--", "env"],
            &[("CI", "true")],
        )
        .await;
    out.assert_success("vault exec --ci-token-file");
    std::fs::remove_file(&file).unwrap();

    let names: Vec<String> = app
        .audit_rows_for("credentials_issue")
        .await
        .iter()
        .map(|r| r["session_name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["gha-acme-app-5550001", "gha-acme-app-5550002"]);
}

#[tokio::test]
async fn a_job_no_profile_allows_gets_the_servers_reason_and_its_command_never_runs() {
    let (issuer, app) = spawn_ci_app().await;
    let cli = app.cli();
    issuer.set_actions_claims(json!({
        "ref": "refs/heads/feature",
        "sub": "repo:acme/app:ref:refs/heads/feature",
    }));
    let env = github_env(&issuer);
    let out = cli
        .run_with_env(
            &["exec", "deploy", "--", "sh", "-c", "echo child-ran"],
            &pairs(&env),
        )
        .await;
    out.assert_failure("vault exec for a feature branch");
    assert!(!out.stdout.contains("child-ran"), "{out}");
    assert!(
        out.stderr.contains("no profile allows this CI job"),
        "the server's reason is not shown:\n{out}"
    );
    let rows = app.audit_rows_for("ci_exchange").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "denied");
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());
}

#[tokio::test]
async fn a_wrong_github_request_token_fails_without_printing_it() {
    let (issuer, app) = spawn_ci_app().await;
    let cli = app.cli();
    let url = issuer.actions_request_url();
    let out = cli
        .run_with_env(
            &["exec", "deploy", "--", "sh", "-c", "echo child-ran"],
            &[
                ("CI", "true"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    "not-the-request-token-123",
                ),
            ],
        )
        .await;
    out.assert_failure("vault exec with a wrong request token");
    assert!(!out.stdout.contains("child-ran"), "{out}");
    assert!(
        !out.stderr.contains("not-the-request-token-123"),
        "the request token was printed:\n{out}"
    );
    assert!(out.stderr.contains("GitHub"), "{out}");
    assert!(app.audit_rows_for("ci_exchange").await.is_empty());
}
