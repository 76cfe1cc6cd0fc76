//! CI token exchange, granted: a job's token becomes a broker access token for a `ci` principal,
//! which gets sessions named after the job for the profiles its claims allow, and only those;
//! bursts of one job identity share one STS session.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Instant;
use vault_api::{TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT};
use vault_e2e::aws::assumed_role_prefix;
use vault_e2e::ci_issuer::spawn_ci_app;
use vault_e2e::Cli;

const SUBJECT: &str = "repo:acme/app:ref:refs/heads/main";

#[tokio::test]
async fn a_valid_job_token_gets_a_ci_access_token_and_a_session_named_after_the_job() {
    let (issuer, app) = spawn_ci_app().await;
    let run_id = issuer.run_id().to_owned();
    let token = issuer.mint(json!({}));

    let ex = app.ci_exchange(&token).await;
    let access = ex.access_token();
    assert_eq!(ex.body["token_type"], "Bearer", "{}", ex.text);
    assert_eq!(
        ex.body["issued_token_type"], TOKEN_TYPE_ACCESS_TOKEN,
        "{}",
        ex.text
    );
    assert!(
        ex.body.get("refresh_token").is_none(),
        "CI gets no refresh token: {}",
        ex.text
    );
    let expires_in = ex.body["expires_in"].as_u64().expect("expires_in");
    assert!((1..=900).contains(&expires_in), "{}", ex.text);
    assert_ne!(access, token);

    // The job may use `deploy` ...
    let oauth = app.oauth();
    let creds = oauth.credentials(&access, "deploy").await;
    assert!(creds.access_key_id.starts_with("ASIA"), "{creds:?}");
    let session_name = format!("gha-acme-app-{run_id}");
    let mut cli = Cli::new(&app.url);
    cli.moto_url = app.moto_url.clone();
    let arn = cli.caller_identity_with(&creds).await;
    assert_eq!(
        arn,
        format!(
            "{}{session_name}",
            assumed_role_prefix(&app.account_id, &app.role_name("deploy"))
        )
    );

    // ... and not `dev`, a profile for people.
    let resp = oauth
        .post_json(&access, "/v1/credentials", &json!({"profile": "dev"}))
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.expect("JSON error body");
    assert_eq!(status, 403, "{body}");
    let message = body.to_string();
    assert!(
        message.contains(SUBJECT) && message.contains("allow_ci"),
        "the refusal does not name the job and its rules: {body}"
    );

    // `vault list` for the job: only deploy.
    let resp = oauth.get(&access, "/v1/profiles").await;
    assert_eq!(resp.status(), 200);
    let listed: vault_api::ProfileList = resp.json().await.expect("profile list");
    let names: Vec<&str> = listed.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["deploy"]);

    // The audit trail names the full subject throughout.
    let exchanges = app.audit_rows_for("ci_exchange").await;
    assert_eq!(exchanges.len(), 1, "{exchanges:#?}");
    let row = &exchanges[0];
    assert_eq!(row["outcome"], "success", "{row:#}");
    assert_eq!(row["principal"], SUBJECT, "{row:#}");
    assert_eq!(row["principal_kind"], "ci", "{row:#}");
    assert!(!row["principal_id"].is_null(), "{row:#}");
    assert_eq!(row["details"]["issuer"], "github", "{row:#}");
    assert_eq!(
        row["details"]["claims"]["run_id"],
        run_id.as_str(),
        "{row:#}"
    );
    assert_eq!(row["details"]["claims"]["sub"], SUBJECT, "{row:#}");
    let matched = &row["details"]["matched"]["deploy"];
    assert_eq!(matched["repository"], "acme/app", "{row:#}");
    assert_eq!(matched["ref"], "refs/heads/main", "{row:#}");
    assert_eq!(matched["event_name"], "push", "{row:#}");
    let principal_id = row["principal_id"].clone();

    let issued = app.audit_rows_for("credentials_issue").await;
    assert_eq!(issued.len(), 1, "{issued:#?}");
    let row = &issued[0];
    assert_eq!(row["outcome"], "success", "{row:#}");
    assert_eq!(row["principal"], SUBJECT, "{row:#}");
    assert_eq!(row["principal_kind"], "ci", "{row:#}");
    assert_eq!(row["principal_id"], principal_id, "{row:#}");
    assert_eq!(row["profile"], "deploy", "{row:#}");
    assert_eq!(
        row["access_key_id"],
        creds.access_key_id.as_str(),
        "{row:#}"
    );
    assert_eq!(row["session_name"], session_name.as_str(), "{row:#}");
    assert_eq!(row["source_identity"], session_name.as_str(), "{row:#}");
    assert_eq!(row["details"]["ci_subject"], SUBJECT, "{row:#}");
    assert_eq!(
        row["details"]["ci_claims"]["run_id"],
        run_id.as_str(),
        "{row:#}"
    );

    let denied = app.audit_rows_for("credentials_deny").await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(denied[0]["principal"], SUBJECT, "{:#}", denied[0]);
    assert_eq!(denied[0]["principal_kind"], "ci", "{:#}", denied[0]);
    assert_eq!(denied[0]["profile"], "dev", "{:#}", denied[0]);

    app.assert_no_secret_in_audit(&vault_e2e::audit::secrets_of(&creds))
        .await;
    let audit_text = app
        .audit_rows()
        .await
        .iter()
        .map(Value::to_string)
        .collect::<String>();
    let signature = token.rsplit('.').next().expect("signature");
    assert!(
        !audit_text.contains(signature),
        "the CI token is in the audit trail"
    );
    assert!(
        !audit_text.contains(&access),
        "the access token is in the audit trail"
    );
}

#[tokio::test]
async fn a_client_id_does_not_change_the_exchange() {
    let (issuer, app) = spawn_ci_app().await;
    let resp = app
        .ci_exchange_raw(&[
            ("grant_type", vault_api::GRANT_TOKEN_EXCHANGE),
            ("client_id", vault_api::CLI_CLIENT_ID),
            ("subject_token", &issuer.mint(json!({}))),
            ("subject_token_type", TOKEN_TYPE_JWT),
        ])
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

/// One burst: `n` jobs of one run each exchange a fresh token and ask for `deploy`, all at
/// once. Returns the AccessKeyIds; prints latencies (seen with `--nocapture`).
async fn burst(
    app: &vault_e2e::TestApp,
    issuer: &vault_e2e::ci_issuer::CiIssuer,
    run_id: &str,
    n: usize,
) -> Vec<String> {
    let tokens: Vec<String> = (0..n)
        .map(|_| issuer.mint(json!({"run_id": run_id})))
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let http = app.http.clone();
            let url = app.url.clone();
            tokio::spawn(async move {
                let t0 = Instant::now();
                let resp = http
                    .post(format!("{url}/oauth/token"))
                    .form(&[
                        ("grant_type", vault_api::GRANT_TOKEN_EXCHANGE),
                        ("subject_token", &token),
                        ("subject_token_type", TOKEN_TYPE_JWT),
                    ])
                    .send()
                    .await
                    .expect("exchange");
                let status = resp.status();
                let body: Value = resp.json().await.expect("exchange JSON");
                assert_eq!(status, 200, "exchange after {:?}: {body}", t0.elapsed());
                let access = body["access_token"]
                    .as_str()
                    .expect("access_token")
                    .to_owned();
                let resp = http
                    .post(format!("{url}/v1/credentials"))
                    .bearer_auth(&access)
                    .json(&json!({"profile": "deploy"}))
                    .send()
                    .await
                    .expect("credentials");
                let status = resp.status();
                let body: Value = resp.json().await.expect("credentials JSON");
                assert_eq!(status, 200, "credentials after {:?}: {body}", t0.elapsed());
                let key = body["AccessKeyId"]
                    .as_str()
                    .expect("AccessKeyId")
                    .to_owned();
                (key, t0.elapsed())
            })
        })
        .collect();
    let mut keys = Vec::new();
    let mut latencies = Vec::new();
    for t in tasks {
        let (key, took) = t.await.expect("a job panicked");
        keys.push(key);
        latencies.push(took);
    }
    latencies.sort();
    let at = |q: f64| latencies[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
    eprintln!(
        "burst of {n} (run {run_id}): {:?} in all; exchange+credentials p50 {:?}, p99 {:?}, max {:?}",
        started.elapsed(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
    keys
}

/// Jobs in the burst: `VAULT_TEST_CI_BURST` (default 100).
fn burst_size() -> usize {
    std::env::var("VAULT_TEST_CI_BURST")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 2)
        .unwrap_or(100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_one_job_identity_shares_one_session_and_audits_every_reuse() {
    let (issuer, app) = spawn_ci_app().await;
    let run_id = issuer.run_id().to_owned();

    let n = burst_size();
    let keys = burst(&app, &issuer, &run_id, n).await;

    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(
        distinct.len(),
        1,
        "the burst got {} sessions",
        distinct.len()
    );
    let issued = app.audit_rows_for("credentials_issue").await;
    let reused = app.audit_rows_for("credentials_reuse").await;
    assert_eq!(issued.len(), 1, "STS calls: {issued:#?}");
    assert_eq!(reused.len(), n - 1);
    let exchanges = app.audit_rows_for("ci_exchange").await;
    assert_eq!(exchanges.len(), n);
    assert!(exchanges.iter().all(|r| r["outcome"] == "success"));
    let name = format!("gha-acme-app-{run_id}");
    for row in issued.iter().chain(&reused) {
        assert_eq!(row["outcome"], "success", "{row:#}");
        assert_eq!(row["principal"], SUBJECT, "{row:#}");
        assert_eq!(row["session_name"], name.as_str(), "{row:#}");
        assert_eq!(row["access_key_id"], keys[0].as_str(), "{row:#}");
    }
    // n distinct exchanges (jti), one principal.
    let principals: BTreeSet<String> = exchanges
        .iter()
        .map(|r| r["principal_id"].to_string())
        .collect();
    assert_eq!(principals.len(), 1, "{principals:?}");

    // Other runs of the same workflow are other jobs: sessions of their own.
    let other_a = burst(&app, &issuer, "777000111", 3).await;
    let other_b = burst(&app, &issuer, "777000222", 3).await;
    assert!(other_a.iter().all(|k| *k == other_a[0]), "{other_a:?}");
    assert!(other_b.iter().all(|k| *k == other_b[0]), "{other_b:?}");
    let all: BTreeSet<&String> = [&keys[0], &other_a[0], &other_b[0]].into_iter().collect();
    assert_eq!(all.len(), 3, "different runs shared a session");
    let issued = app.audit_rows_for("credentials_issue").await;
    let names: BTreeSet<String> = issued
        .iter()
        .map(|r| r["session_name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            name,
            "gha-acme-app-777000111".to_owned(),
            "gha-acme-app-777000222".to_owned()
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        app.audit_rows_for("credentials_reuse").await.len(),
        n - 1 + 2 + 2
    );
}

#[tokio::test]
async fn an_exchange_whose_audit_event_cannot_be_written_gets_the_generic_503_and_no_database_text()
{
    let (issuer, app) = spawn_ci_app().await;
    // A real Postgres refusal of exactly the exchange's audit insert, granted or refused.
    app.refuse_audit_events("ci_exchange").await;

    let granted = app.ci_exchange(&issuer.mint(json!({}))).await;
    let refused = app
        .ci_exchange(&issuer.mint(json!({"aud": "someone-else"})))
        .await;

    for (what, ex) in [
        ("a valid token", &granted),
        ("a token for another audience", &refused),
    ] {
        assert_eq!(ex.status, 503, "{what}: {}", ex.text);
        assert_eq!(
            ex.body["error"], "temporarily_unavailable",
            "{what}: {}",
            ex.text
        );
        assert_eq!(
            ex.description(),
            "the audit trail cannot be written right now, so nothing was done; try again shortly",
            "{what}"
        );
        assert!(ex.body.get("access_token").is_none(), "{what}: {}", ex.text);
        for leak in ["refuses this write", "database", "P0001", "trigger"] {
            assert!(
                !ex.text.contains(leak),
                "{what}: `{leak}` reached the client: {}",
                ex.text
            );
        }
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM login_sessions WHERE ci_issuer IS NOT NULL AND revoked_at IS NULL",
    )
    .fetch_one(&app.db)
    .await
    .expect("counting live CI sessions");
    assert_eq!(
        app.ci_session_count().await,
        1,
        "the granted exchange made a session"
    );
    assert_eq!(live, 0, "the session of an unaudited exchange is ended");
}
