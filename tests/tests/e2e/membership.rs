//! Membership that stays fresh (issue 11): groups are read again from the IdP at a refresh once
//! older than `membership_ttl`, a person the IdP no longer knows loses the login there, and no
//! login outlives `login_max_age`. Each test changes a user of its own at the dev IdP.

use std::time::{Duration, Instant};

use vault_e2e::idp::OwnIdp;
use vault_e2e::idp_admin::{disable, set_groups, unique_login};
use vault_e2e::TestApp;

/// The `membership_ttl` of these tests, and a wait that is surely past it.
const TTL: &str = "1s";
const PAST_TTL: Duration = Duration::from_millis(1300);

async fn app_with(oidc: &str) -> TestApp {
    TestApp::builder().oidc_toml(oidc).spawn().await
}

#[tokio::test]
async fn a_person_removed_from_admins_loses_that_access_at_the_next_refresh_after_membership_ttl() {
    let app = app_with(&format!("membership_ttl = \"{TTL}\"")).await;
    let issuer = &app.env.idp_issuer;
    let login = unique_login("m");
    set_groups(issuer, &login, &["admins"]).await;
    let oauth = app.oauth();
    let tokens = oauth.login(&login).await;
    let before = oauth.get(&tokens.access_token, "/v1/audit").await;
    assert_eq!(before.status(), 200, "an admin reads the audit trail");

    set_groups(issuer, &login, &["dev"]).await;
    // The groups read at login are trusted for membership_ttl; then the next refresh re-reads.
    tokio::time::sleep(PAST_TTL).await;
    let fresh = oauth.refresh_ok(&tokens.refresh_token).await;
    let after = oauth.get(&fresh.access_token, "/v1/audit").await;
    assert_eq!(after.status(), 403, "no longer an admin after the refresh");

    let rows = app.audit_rows_for("membership_refresh").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["outcome"], "success");
    assert_eq!(
        rows[0]["details"]["old_groups"],
        serde_json::json!(["admins"])
    );
    assert_eq!(rows[0]["details"]["new_groups"], serde_json::json!(["dev"]));
    let (groups, sealed): (Vec<String>, Option<String>) = sqlx::query_as(
        "SELECT s.groups, s.upstream_refresh_sealed
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
         WHERE p.subject = $1",
    )
    .bind(&login)
    .fetch_one(&app.db)
    .await
    .expect("the login's session");
    assert_eq!(groups, ["dev"]);
    // The groups were re-read with the IdP's refresh token, kept sealed, not in plain text.
    let sealed = sealed.expect("the IdP's refresh token is kept");
    assert!(sealed.starts_with("v1:"), "not sealed: {sealed}");
}

#[tokio::test]
async fn an_unreachable_idp_leaves_the_groups_for_twice_membership_ttl_then_refreshes_are_refused()
{
    let mut idp = OwnIdp::start().await;
    let app = TestApp::builder()
        .idp_issuer(&idp.issuer)
        .oidc_toml("membership_ttl = \"2s\"")
        .spawn()
        .await;
    let oauth = app.oauth();
    let tokens = oauth.login("alice").await;
    // The groups were read no later than now.
    let read = Instant::now();
    idp.stop().await;

    wait_until(read + Duration::from_millis(2300)).await;
    let stale = oauth.refresh_ok(&tokens.refresh_token).await;
    let rows = app.audit_rows_for("membership_stale").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["outcome"], "failure");

    wait_until(read + Duration::from_millis(4300)).await;
    let resp = oauth.refresh(&stale.refresh_token).await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.expect("a JSON error");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert_eq!(app.audit_rows_for("membership_unverified").await.len(), 1);

    // Nothing was consumed: the refused refresh token is still unused, to try again later.
    let unused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE used_at IS NULL")
            .fetch_one(&app.db)
            .await
            .expect("counting refresh tokens");
    assert_eq!(unused, 1);
}

async fn wait_until(at: Instant) {
    tokio::time::sleep(at.saturating_duration_since(Instant::now())).await;
}

#[tokio::test]
async fn a_person_disabled_at_the_idp_loses_the_login_at_the_next_check() {
    let app = app_with(&format!("membership_ttl = \"{TTL}\"")).await;
    let login = unique_login("d");
    set_groups(&app.env.idp_issuer, &login, &["dev"]).await;
    let oauth = app.oauth();
    let tokens = oauth.login(&login).await;
    disable(&app.env.idp_issuer, &login).await;
    tokio::time::sleep(PAST_TTL).await;

    let resp = oauth.refresh(&tokens.refresh_token).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.expect("a JSON error");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains("log in again"), "{body}");

    let revoked: Option<String> = sqlx::query_scalar(
        "SELECT s.revoke_reason FROM login_sessions s JOIN principals p ON p.id = s.principal_id
         WHERE p.subject = $1 AND s.revoked_at IS NOT NULL",
    )
    .bind(&login)
    .fetch_optional(&app.db)
    .await
    .expect("the login's session");
    assert!(revoked.is_some(), "the session was not revoked");
    let still = oauth.get(&tokens.access_token, "/v1/profiles").await;
    assert_eq!(
        still.status(),
        401,
        "the revoked login's access token still works"
    );
    let rows = app.audit_rows_for("membership_revoked").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["outcome"], "denied");
    assert_eq!(rows[0]["principal"], format!("{login}@example.com"));
}

#[tokio::test]
async fn a_login_older_than_login_max_age_cannot_be_refreshed() {
    let app = app_with("login_max_age = \"2s\"").await;
    let oauth = app.oauth();
    let tokens = oauth.login("alice").await;
    // The first refresh within the age works; once the login is 2 s old, none does.
    let fresh = oauth.refresh_ok(&tokens.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let resp = oauth.refresh(&fresh.refresh_token).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.expect("a JSON error");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("login_max_age"),
        "{body}"
    );
    let refused = app.audit_rows_for("oauth_refused").await;
    assert!(
        refused.iter().any(|r| r["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("login_max_age")),
        "{refused:#?}"
    );
}
