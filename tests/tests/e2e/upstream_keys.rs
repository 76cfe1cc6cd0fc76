//! Upstream checks (issue 11): an ID token signed with a key the server's cached discovery
//! document does not list makes it fetch the keys again, instead of refusing logins until the
//! cache expires an hour later; userinfo that names another person than the ID token is refused.

use vault_e2e::idp::OwnIdp;
use vault_e2e::idp_admin::{make_userinfo_lie, rotate_keys};
use vault_e2e::TestApp;

#[tokio::test]
async fn a_login_signed_with_a_new_idp_key_succeeds_while_the_old_keys_are_cached() {
    let idp = OwnIdp::start().await;
    let app = TestApp::builder().idp_issuer(&idp.issuer).spawn().await;
    let oauth = app.oauth();
    // The first login caches the discovery document and the keys it lists.
    oauth.login("alice").await;
    rotate_keys(&idp.issuer).await;
    let tokens = oauth.login("bob").await;
    let whoami = oauth.get(&tokens.access_token, "/v1/whoami").await;
    assert_eq!(whoami.status(), 200);
    let logins = app.audit_rows_for("login").await;
    assert_eq!(logins.len(), 2, "{logins:#?}");
    assert_eq!(logins[1]["principal"], "bob@example.com");
}

#[tokio::test]
async fn a_login_whose_userinfo_names_another_subject_is_refused_and_audited() {
    let idp = OwnIdp::start().await;
    // A display claim the ID token lacks makes the server ask userinfo at login.
    let app = TestApp::builder()
        .idp_issuer(&idp.issuer)
        .oidc_toml("display_claim = \"upn\"")
        .spawn()
        .await;
    make_userinfo_lie(&idp.issuer).await;
    let refused = app.oauth().authorize("alice").await.expect_err("logged in");
    let refused = format!("{refused:#}");
    assert!(refused.contains("error=access_denied"), "{refused}");
    let rows = app.audit_rows_for("login_refused").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["details"]["code"], "userinfo_subject_mismatch");
    assert_eq!(rows[0]["details"]["subject"], "alice");
}
