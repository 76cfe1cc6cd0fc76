//! `GET /v1/admin/sessions` and `vault admin sessions`: the live logins with where they came
//! from and when they were last refreshed, for admins only.

use serde_json::Value;
use vault_api::admin::{LoginSessionView, SessionsResponse};
use vault_e2e::{jwt, Cli, OAuthClient, TestApp};

fn session_of(token: &str) -> String {
    let (_, claims) = jwt::decode_unverified(token);
    claims["sid"].as_str().expect("sid claim").to_owned()
}

async fn sessions(oauth: &OAuthClient, admin: &str, query: &str) -> SessionsResponse {
    let resp = oauth
        .get(admin, &format!("/v1/admin/sessions{query}"))
        .await;
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, 200, "GET /v1/admin/sessions{query}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn find<'a>(listed: &'a SessionsResponse, sid: &str) -> &'a LoginSessionView {
    listed
        .sessions
        .iter()
        .find(|s| s.session_id == sid)
        .unwrap_or_else(|| panic!("session {sid} is not listed: {listed:#?}"))
}

#[tokio::test]
async fn admin_sessions_lists_alices_and_bobs_logins_with_address_agent_and_last_refresh() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    let alice = oauth.login("alice").await;
    let bob = oauth.login("bob").await;
    let admin = oauth.login("admin").await;
    let (alice_sid, bob_sid) = (
        session_of(&alice.access_token),
        session_of(&bob.access_token),
    );

    let listed = sessions(&oauth, &admin.access_token, "").await;
    assert!(!listed.truncated);
    for (sid, who) in [
        (&alice_sid, "alice@example.com"),
        (&bob_sid, "bob@example.com"),
    ] {
        let s = find(&listed, sid);
        assert_eq!(s.principal, who, "{s:#?}");
        assert_eq!(s.kind, "user");
        assert_eq!(s.client_addr.as_deref(), Some("127.0.0.1"), "{s:#?}");
        assert_eq!(
            s.user_agent.as_deref(),
            Some("team-vault-autologin"),
            "{s:#?}"
        );
        assert_eq!(s.last_refresh, None, "never refreshed yet: {s:#?}");
        assert!(!s.started.is_empty() && !s.expires.is_empty());
    }

    oauth.refresh_ok(&alice.refresh_token).await;
    let only_alice = sessions(&oauth, &admin.access_token, "?principal=alice@example.com").await;
    assert_eq!(only_alice.sessions.len(), 1, "{only_alice:#?}");
    let s = find(&only_alice, &alice_sid);
    assert!(s.last_refresh.is_some(), "the refresh is shown: {s:#?}");

    let listed_rows = app.audit_rows_for("sessions_list").await;
    assert_eq!(listed_rows.len(), 2, "{listed_rows:#?}");
    assert_eq!(listed_rows[1]["principal"], "admin@example.com");
    assert_eq!(listed_rows[1]["details"]["principal"], "alice@example.com");
}

#[tokio::test]
async fn vault_admin_sessions_prints_a_table_of_one_principals_logins() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    let alice = oauth.login("alice").await;
    oauth.login("bob").await;
    let cli = Cli::new(&app.url);
    cli.login_browser("admin").await;

    let out = cli
        .run(&["admin", "sessions", "--principal", "alice@example.com"])
        .await;
    out.assert_success("vault admin sessions --principal alice@example.com");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "a header and alice's one login:\n{out}");
    for column in [
        "PRINCIPAL",
        "STARTED",
        "LAST REFRESH",
        "CLIENT ADDRESS",
        "USER AGENT",
        "SESSION",
    ] {
        assert!(lines[0].contains(column), "header lacks {column}:\n{out}");
    }
    assert!(lines[1].starts_with("alice@example.com"), "{out}");
    assert!(lines[1].contains("127.0.0.1"), "{out}");
    assert!(lines[1].contains(&session_of(&alice.access_token)), "{out}");

    let out = cli.run(&["admin", "sessions", "--json"]).await;
    out.assert_success("vault admin sessions --json");
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let principals: Vec<&str> = json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["principal"].as_str())
        .collect();
    for who in ["alice@example.com", "bob@example.com", "admin@example.com"] {
        assert!(principals.contains(&who), "{who} missing from {json:#}");
    }
}

#[tokio::test]
async fn a_non_admin_asking_for_the_sessions_is_refused_and_the_attempt_audited() {
    let app = TestApp::spawn().await;
    let oauth = OAuthClient::new(&app.url);
    let alice = oauth.login("alice").await;
    let resp = oauth.get(&alice.access_token, "/v1/admin/sessions").await;
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_admin", "{body:#}");
    let denied = app.audit_rows_for("admin_denied").await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(denied[0]["principal"], "alice@example.com");
    assert_eq!(
        denied[0]["details"]["attempted"],
        "see people's login sessions"
    );
    assert!(app.audit_rows_for("sessions_list").await.is_empty());
}
