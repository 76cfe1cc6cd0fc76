//! `GET /v1/audit/follow`: a long poll that answers with new events as they are committed, and
//! only with those its filters match.

use std::time::{Duration, Instant};
use vault_e2e::TestApp;

/// In the statement a follow runs each time it looks for new events (`db::audit::after`).
const LOOKS_FOR_NEW_EVENTS: &str = "ORDER BY chain_seq ASC LIMIT";

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

    // Events that do not match, committed before the follow starts: a denial for alice, an
    // issue for bob.
    let resp = oauth
        .post_json(
            &alice,
            "/v1/credentials",
            &serde_json::json!({"profile": "ops"}),
        )
        .await;
    assert_eq!(resp.status(), 403);
    oauth.credentials(&bob, "ops").await;
    let (past_them, _) = app.chain_head().await;
    assert!(
        past_them >= head + 2,
        "precondition: two events were written"
    );
    let query = |after: String, wait: &str| {
        vec![
            ("after", after),
            ("wait", wait.to_owned()),
            ("action", "credentials_issue".to_owned()),
            ("principal", "alice@example.com".to_owned()),
        ]
    };

    // With nothing that matches, the follow waits out its `wait` and answers with no event, its
    // cursor moved past the events it skipped.
    let asked = Instant::now();
    let skipped = api.follow(&query(head.to_string(), "1")).await;
    assert!(
        skipped.events.is_empty(),
        "the follow answered with non-matching events: {skipped:#?}"
    );
    assert!(
        asked.elapsed() >= Duration::from_secs(1),
        "the follow answered after {:?}, before its wait of 1 s",
        asked.elapsed()
    );
    let (now_head, _) = app.chain_head().await;
    assert!(now_head >= past_them);
    assert_eq!(skipped.next_cursor, Some(now_head.to_string()));

    // A follow from there is waiting once the server has looked for new events for it twice
    // (it found none the first time and, instead of answering, looked again); then a matching
    // event is written, and it answers with just that one.
    let since = app.database_now().await;
    let mut poll = {
        let api = api.clone();
        let query = query(now_head.to_string(), "20");
        tokio::spawn(async move { api.follow(&query).await })
    };
    let first_look = app
        .wait_for_statement(
            "the follow to look for new events",
            LOOKS_FOR_NEW_EVENTS,
            since,
            Duration::from_secs(10),
        )
        .await;
    app.wait_for_statement(
        "the follow to look again",
        LOOKS_FOR_NEW_EVENTS,
        first_look,
        Duration::from_secs(10),
    )
    .await;
    assert!(
        !poll.is_finished(),
        "the follow answered before any matching event: {:?}",
        (&mut poll).await
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
        event.chain_seq > past_them,
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
