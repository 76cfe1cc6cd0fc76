//! `vault admin disable` / `enable`: a disabled person cannot get credentials, refresh or log in,
//! whatever their IdP groups say, on every replica at once, until enabled; each refusal and the
//! change itself are audited.

use std::time::Duration;

use serde_json::{json, Value};
use vault_e2e::ci_issuer::CiIssuer;
use vault_e2e::{poll, Cli, OAuthClient, TestApp};

use crate::session_cache::two_replicas;

/// `POST /v1/credentials {"profile":"dev"}` on this replica: status and body.
async fn credentials(app: &TestApp, token: &str) -> (u16, Value) {
    let resp = OAuthClient::new(&app.bound_url)
        .post_json(token, "/v1/credentials", &json!({ "profile": "dev" }))
        .await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_disabled_person_gets_no_credentials_refresh_or_login_on_either_replica_until_enabled() {
    let (a, b) = two_replicas().await;
    let oauth = OAuthClient::new(&a.url);
    let alice = oauth.login("alice").await;
    assert_eq!(
        credentials(&b, &alice.access_token).await.0,
        200,
        "B remembers her session"
    );
    let admin = Cli::new(&a.url);
    admin.login_browser("admin").await;

    let out = admin.run(&["admin", "disable", "alice@example.com"]).await;
    out.assert_success("vault admin disable alice@example.com");
    assert!(
        out.stdout.contains("alice@example.com is disabled"),
        "{out}"
    );
    for app in [&a, &b] {
        let (status, body) = poll::until(
            "the replica to refuse alice's credentials",
            Duration::from_secs(10),
            || async {
                let (status, body) = credentials(app, &alice.access_token).await;
                (status != 200).then_some((status, body))
            },
        )
        .await;
        assert_eq!(status, 403, "{body:#}");
        assert_eq!(body["error"], "principal_disabled", "{body:#}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("disabled by an admin"),
            "{body:#}"
        );
    }
    let refused = a.audit_rows_for("access_refused").await;
    assert!(refused.len() >= 2, "each refusal is an event: {refused:#?}");
    assert!(refused
        .iter()
        .all(|r| r["principal"] == "alice@example.com"
            && r["details"]["code"] == "principal_disabled"));
    let disabled = a.audit_rows_for("principal_disable").await;
    assert_eq!(disabled.len(), 1, "{disabled:#?}");
    assert_eq!(disabled[0]["principal"], "admin@example.com");
    assert_eq!(disabled[0]["details"]["principal"], "alice@example.com");

    let resp = oauth.refresh(&alice.refresh_token).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body:#}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("disabled by an admin"),
        "{body:#}"
    );

    let login = oauth
        .authorize("alice")
        .await
        .expect_err("a disabled person's login is refused");
    let said = format!("{login:#}");
    assert!(
        said.contains("error=access_denied") && said.contains("disabled"),
        "{said}"
    );
    let logins = a.audit_rows_for("login_refused").await;
    assert!(
        logins
            .iter()
            .any(|r| r["details"]["code"] == "principal_disabled"),
        "{logins:#?}"
    );

    let out = admin.run(&["admin", "enable", "alice@example.com"]).await;
    out.assert_success("vault admin enable alice@example.com");
    assert_eq!(a.audit_rows_for("principal_enable").await.len(), 1);
    for app in [&a, &b] {
        assert_eq!(
            credentials(app, &alice.access_token).await.0,
            200,
            "enabled again"
        );
    }
    oauth.login("alice").await;
}

#[tokio::test]
async fn disabling_an_unknown_principal_is_a_404_that_names_it() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    let admin = oauth.login("admin").await;
    let resp = oauth
        .post_json(
            &admin.access_token,
            "/v1/admin/principals/disable",
            &json!({ "principal": "nobody@example.com" }),
        )
        .await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unknown_principal", "{body:#}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("nobody@example.com"));
    assert!(app.audit_rows_for("principal_disable").await.is_empty());
}

#[tokio::test]
async fn a_non_admin_can_neither_disable_nor_enable_and_each_attempt_is_audited() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    let bob = oauth.login("bob").await;
    oauth.login("alice").await;
    for path in [
        "/v1/admin/principals/disable",
        "/v1/admin/principals/enable",
    ] {
        let resp = oauth
            .post_json(
                &bob.access_token,
                path,
                &json!({ "principal": "alice@example.com" }),
            )
            .await;
        assert_eq!(resp.status(), 403, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "not_admin", "{path}: {body:#}");
    }
    let denied = app.audit_rows_for("admin_denied").await;
    let attempted: Vec<&str> = denied
        .iter()
        .filter_map(|r| r["details"]["attempted"].as_str())
        .collect();
    assert_eq!(
        attempted,
        ["disable a principal", "enable a principal"],
        "{denied:#?}"
    );
    assert_eq!(
        credentials(&app, &oauth.login("alice").await.access_token)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_disabled_ci_identity_is_refused_at_its_token_exchange_and_the_refusal_is_audited() {
    let issuer = CiIssuer::start().await;
    let app = issuer.app_builder().spawn().await;
    app.ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
    let job = app.audit_rows_for("ci_exchange").await[0]["principal"]
        .as_str()
        .expect("the job's subject")
        .to_owned();
    let oauth = OAuthClient::new(&app.url);
    let admin = oauth.login("admin").await;
    let set = |path: &'static str| {
        let (oauth, admin, job) = (&oauth, &admin.access_token, &job);
        async move {
            let resp = oauth
                .post_json(admin, path, &json!({ "principal": job }))
                .await;
            assert_eq!(resp.status(), 200, "{path}");
        }
    };
    set("/v1/admin/principals/disable").await;

    let refused = app.ci_exchange(&issuer.mint(json!({}))).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["error"], "access_denied", "{}", refused.text);
    let message = refused.body["error_description"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("disabled by an admin"), "{message}");
    let rows = app.audit_rows_for("ci_exchange").await;
    let last = rows.last().expect("the refused exchange's event");
    assert_eq!(last["outcome"], "denied", "{last:#}");
    assert_eq!(last["principal"], job.as_str(), "{last:#}");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("disabled by an admin")),
        "{last:#}"
    );

    set("/v1/admin/principals/enable").await;
    app.ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
}
