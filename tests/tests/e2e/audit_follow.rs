//! `GET /v1/audit/follow`: a long poll that answers with new events as they are committed, and
//! only with those its filters match.

use std::time::Duration;
use vault_e2e::TestApp;

#[tokio::test]
async fn follow_returns_an_event_written_while_it_waits_and_honours_its_filters() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let bob = oauth.login("bob").await.access_token;
    let api = app.admin_audit_api().await;

    let start = api.follow(&[("wait", "0".into())]).await;
    assert!(
        start.events.is_empty(),
        "without `after` only new events come: {start:#?}"
    );
    let (head, _) = app.chain_head().await;
    assert_eq!(
        start.next_cursor,
        Some(head.to_string()),
        "it starts at the head"
    );

    let poll = {
        let api = api.clone();
        let query = vec![
            ("after", head.to_string()),
            ("wait", "20".to_owned()),
            ("action", "credentials_issue".to_owned()),
            ("principal", "alice@example.com".to_owned()),
        ];
        tokio::spawn(async move { api.follow(&query).await })
    };
    // Events that do not match: a denial for alice, an issue for bob, a refresh.
    let resp = oauth
        .post_json(
            &alice,
            "/v1/credentials",
            &serde_json::json!({"profile": "ops"}),
        )
        .await;
    assert_eq!(resp.status(), 403);
    oauth.credentials(&bob, "ops").await;
    let mut poll = poll;
    let early = tokio::time::timeout(Duration::from_millis(1500), &mut poll).await;
    assert!(
        early.is_err(),
        "the follow answered with non-matching events: {early:?}"
    );

    let creds = oauth.credentials(&alice, "dev").await;
    let page = tokio::time::timeout(Duration::from_secs(15), poll)
        .await
        .expect("the follow did not answer after a matching event")
        .expect("follow task");
    assert_eq!(page.events.len(), 1, "{page:#?}");
    let event = &page.events[0];
    assert_eq!(
        event.access_key_id.as_deref(),
        Some(creds.access_key_id.as_str())
    );
    assert_eq!(event.principal.as_deref(), Some("alice@example.com"));
    assert_eq!(page.next_cursor, Some(event.chain_seq.to_string()));
    assert!(
        event.chain_seq > head + 2,
        "written after the non-matching events"
    );

    // Nothing new that matches: an empty answer whose cursor moves to the committed head.
    let quiet = api
        .follow(&[
            ("after", event.chain_seq.to_string()),
            ("wait", "1".into()),
            ("action", "credentials_issue".into()),
        ])
        .await;
    assert!(quiet.events.is_empty(), "{quiet:#?}");
    let (head, _) = app.chain_head().await;
    assert_eq!(quiet.next_cursor, Some(head.to_string()));
}
