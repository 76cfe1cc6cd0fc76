//! `vault admin revoke`, its login half: every login of the person ends on every replica at once,
//! and the reusable CI sessions of a revoked CI identity are gone from both replicas' memory.

use std::time::Duration;

use serde_json::{json, Value};
use vault_e2e::ci_issuer::{deploy_profile, CiIssuer};
use vault_e2e::config::default_profiles;
use vault_e2e::{cli::refresh_tokens_in, poll, Cli, OAuthClient, TestApp};

#[tokio::test]
async fn after_revoke_alices_exec_fails_clearly_and_her_refresh_is_refused() {
    let app = TestApp::spawn().await;
    let alice = Cli::new(&app.url);
    alice.login_browser("alice").await;
    alice
        .run(&["exec", "dev", "--", "true"])
        .await
        .assert_success("vault exec dev before");
    let refresh = refresh_tokens_in(&alice.stored_text());
    assert_eq!(refresh.len(), 1, "alice's one stored refresh token");
    let admin = Cli::new(&app.url);
    admin.login_browser("admin").await;

    let out = admin
        .run(&[
            "admin",
            "revoke",
            "alice@example.com",
            "--reason",
            "laptop stolen",
        ])
        .await;
    out.assert_success("vault admin revoke alice@example.com");
    assert!(
        out.stdout
            .contains("revoked alice@example.com: 1 login(s) ended"),
        "{out}"
    );

    // A duration never asked for before: the CLI's credential cache cannot answer it.
    let out = alice.run(&["exec", "dev", "-d", "30m", "--", "true"]).await;
    assert!(!out.status.success(), "exec after revoke must fail:\n{out}");
    assert!(
        out.stderr.contains("vault login"),
        "a clear way out:\n{out}"
    );
    assert!(!out.stderr.contains("panicked"), "{out}");
    let resp = OAuthClient::new(&app.url).refresh(&refresh[0]).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body:#}");

    let rows = app.audit_rows_for("principal_revoke").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["principal"], "admin@example.com");
    assert_eq!(rows[0]["reason"], "laptop stolen");
    assert_eq!(rows[0]["details"]["principal"], "alice@example.com");
    assert_eq!(rows[0]["details"]["logins_ended"], 1);
}

#[tokio::test]
async fn revoke_with_disable_also_refuses_alices_next_login_until_she_is_enabled() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    oauth.login("alice").await;
    let admin = Cli::new(&app.url);
    admin.login_browser("admin").await;

    let out = admin
        .run(&["admin", "revoke", "alice@example.com", "--disable"])
        .await;
    out.assert_success("vault admin revoke --disable");
    assert!(
        out.stdout.contains(
            "revoked alice@example.com: 1 login(s) ended; disabled until `vault admin enable`"
        ),
        "{out}"
    );
    let login = oauth
        .authorize("alice")
        .await
        .expect_err("a revoked and disabled person cannot log in again");
    assert!(
        format!("{login:#}").contains("error=access_denied"),
        "{login:#}"
    );
    let rows = app.audit_rows_for("principal_revoke").await;
    assert_eq!(rows[0]["details"]["disabled"], true, "{rows:#?}");

    admin
        .run(&["admin", "enable", "alice@example.com"])
        .await
        .assert_success("vault admin enable");
    oauth.login("alice").await;
}

/// A CI job's exchange and `deploy` credentials on this replica: the AccessKeyId.
async fn deploy_key(app: &TestApp, issuer: &CiIssuer) -> String {
    let access = app
        .ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
    let creds = OAuthClient::new(&app.bound_url)
        .credentials(&access, "deploy")
        .await;
    creds.access_key_id
}

#[tokio::test]
async fn revoking_a_ci_identity_drops_its_reusable_sessions_on_both_replicas() {
    let issuer = CiIssuer::start().await;
    let a = issuer.app_builder().spawn().await;
    let mut profiles = default_profiles();
    profiles.push(deploy_profile());
    // One deployment: B serves under A's public URL (a top-level key, so before the issuer's table).
    let b = TestApp::builder()
        .profiles(profiles)
        .extra_toml(&format!("public_url = \"{}\"", a.url))
        .extra_toml(&issuer.config_toml())
        .sharing_database_of(&a)
        .spawn()
        .await;
    let (ka, kb) = (deploy_key(&a, &issuer).await, deploy_key(&b, &issuer).await);
    assert_eq!(deploy_key(&a, &issuer).await, ka, "A reuses its session");
    assert_eq!(deploy_key(&b, &issuer).await, kb, "B reuses its session");
    let job = a.audit_rows_for("ci_exchange").await[0]["principal"]
        .as_str()
        .unwrap()
        .to_owned();

    let oauth = OAuthClient::new(&a.url);
    let admin = oauth.login("admin").await;
    let resp = oauth
        .post_json(
            &admin.access_token,
            "/v1/admin/revoke",
            &json!({ "principal": job }),
        )
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["logins_ended"], 4,
        "four exchanges, four CI logins: {body:#}"
    );

    assert_ne!(deploy_key(&a, &issuer).await, ka, "A calls STS afresh");
    // B hears of it through Postgres: bounded wait for the notice, not for a timer.
    poll::until(
        "B to drop the reusable session",
        Duration::from_secs(10),
        || async { (deploy_key(&b, &issuer).await != kb).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_non_admin_cannot_revoke_and_the_attempt_is_audited() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    let bob = oauth.login("bob").await;
    let alice = oauth.login("alice").await;
    let resp = oauth
        .post_json(
            &bob.access_token,
            "/v1/admin/revoke",
            &json!({ "principal": "alice@example.com" }),
        )
        .await;
    assert_eq!(resp.status(), 403);
    let denied = app.audit_rows_for("admin_denied").await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(denied[0]["details"]["attempted"], "revoke a principal");
    oauth.credentials(&alice.access_token, "dev").await;
    assert!(app.audit_rows_for("principal_revoke").await.is_empty());
}
