//! Every grant is an event: redeeming an authorization code (device codes: see
//! `device_binding.rs`), and every refused bearer token on the `/v1` API, one by one under the
//! address's limit and summed over it.

use reqwest::StatusCode;
use vault_e2e::TestApp;

#[tokio::test]
async fn redeeming_an_authorization_code_is_an_event_naming_the_person_and_the_login_session() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let code = oauth.authorize("alice").await.expect("authorize");
    assert!(app.audit_rows_for("code_redeem").await.is_empty());

    let resp = oauth.exchange(&code).await.unwrap();

    assert_eq!(resp.status(), 200);
    let events = app.audit_rows_for("code_redeem").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["principal"], "alice@example.com", "{event:#}");
    assert_eq!(event["client_addr"], "127.0.0.1", "{event:#}");
    let login = &app.audit_rows_for("login").await[0];
    assert_eq!(
        event["details"]["session_id"], login["details"]["session_id"],
        "{event:#}"
    );
    assert!(!event.to_string().contains(&code.code), "{event:#}");
    // A second presentation redeems nothing, so it is a refusal, not a grant.
    let again = oauth.exchange(&code).await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(app.audit_rows_for("code_redeem").await.len(), 1);
}

#[tokio::test]
async fn refused_bearer_tokens_are_audited_one_by_one_under_the_limit_and_summed_over_it() {
    let mut app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 3 }\nsummary_interval = \"1h\"")
        .spawn()
        .await;
    let secret = "tva_not-a-real-token-but-secret-looking";
    let send = || {
        app.http
            .post(app.endpoint("/v1/credentials"))
            .bearer_auth(secret)
            .json(&serde_json::json!({"profile": "dev"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }

    let refused = app.audit_rows_for("bearer_refused").await;
    assert_eq!(refused.len(), 3, "{refused:#?}");
    let event = &refused[0];
    assert_eq!(event["outcome"], "denied");
    assert_eq!(
        event["details"]["request"], "POST /v1/credentials",
        "{event:#}"
    );
    assert_eq!(
        event["details"]["presented_bytes"],
        format!("Bearer {secret}").len(),
        "{event:#}"
    );
    assert!(!event.to_string().contains(secret), "{event:#}");

    for _ in 0..4 {
        assert_eq!(
            send().await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_eq!(
        app.audit_rows_for("bearer_refused").await.len(),
        3,
        "over the limit, refusals are summed, not written one by one"
    );
    app.stop_server().await;
    let summed = app.audit_rows_for("rate_limited").await;
    assert_eq!(summed.len(), 1, "{summed:#?}");
    assert_eq!(summed[0]["details"]["count"], 4, "{:#}", summed[0]);
}
