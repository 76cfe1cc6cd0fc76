//! Deny by default: who may assume what, and every refusal explained and audited.

use vault_api::ErrorBody;
use vault_e2e::TestApp;

#[tokio::test]
async fn exec_refuses_a_user_in_no_allowed_group_with_the_servers_reason() {
    let app = TestApp::spawn().await;
    // The reason the server gives carol, asked directly.
    let oauth = app.oauth();
    let tokens = oauth.login("carol").await;
    let resp = oauth
        .post_json(
            &tokens.access_token,
            "/v1/credentials",
            &serde_json::json!({"profile": "dev"}),
        )
        .await;
    assert_eq!(resp.status(), 403);
    let reason: ErrorBody = resp.json().await.expect("403 has an ErrorBody");
    assert!(!reason.message.is_empty());

    let cli = app.cli();
    cli.login_browser("carol").await;
    let out = cli
        .run(&["exec", "dev", "--", "sh", "-c", "echo child-ran"])
        .await;

    out.assert_failure("vault exec dev as carol");
    assert!(!out.stdout.contains("child-ran"), "the command ran:\n{out}");
    assert!(
        out.stderr.contains(&reason.message),
        "stderr does not carry the server's reason {:?}:\n{out}",
        reason.message
    );
    let denied = app.audit_rows_for("credentials_deny").await;
    let carol: Vec<_> = denied
        .iter()
        .filter(|r| r["principal"] == "carol@example.com")
        .collect();
    assert_eq!(carol.len(), 2, "both refusals must be audited: {denied:#?}");
    for row in carol {
        assert_eq!(row["outcome"], "denied", "{row:#}");
        assert_eq!(row["profile"], "dev", "{row:#}");
        assert!(!row["principal_id"].is_null(), "{row:#}");
        assert!(
            row["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{row:#}"
        );
        assert!(row["access_key_id"].is_null(), "{row:#}");
    }
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());
}

#[tokio::test]
async fn exec_refuses_a_profile_the_user_may_not_assume() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli
        .run(&["exec", "ops", "--", "sh", "-c", "echo child-ran"])
        .await;

    out.assert_failure("vault exec ops as alice");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(!out.stdout.contains("child-ran"), "{out}");
    assert!(out.stderr.contains("Error:"), "{out}");
    let denied = app.audit_rows_for("credentials_deny").await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(denied[0]["profile"], "ops");
    assert_eq!(denied[0]["principal"], "alice@example.com");
}

#[tokio::test]
async fn a_member_of_a_second_allowed_group_may_assume_both_profiles() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let bob = oauth.login("bob").await;

    let dev = oauth.credentials(&bob.access_token, "dev").await;
    let ops = oauth.credentials(&bob.access_token, "ops").await;

    app.assert_issue_audited(&dev, "bob@example.com", "dev")
        .await;
    app.assert_issue_audited(&ops, "bob@example.com", "ops")
        .await;
    let resp = oauth
        .post_json(
            &bob.access_token,
            "/v1/credentials",
            &serde_json::json!({"profile": "admin-only"}),
        )
        .await;
    assert_eq!(resp.status(), 403, "bob is not an admin");
}
