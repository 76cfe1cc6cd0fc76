//! `GET /v1/audit/export`: NDJSON lines that round-trip to exactly the events the list API and
//! the table hold, oldest first.

use std::time::Duration;
use vault_e2e::audit_seed::{self, Seeder};
use vault_e2e::TestApp;

#[tokio::test]
async fn export_round_trips_to_the_events_the_list_api_and_the_table_hold_oldest_first() {
    let app = TestApp::spawn().await;
    let now = vault_server::clock::now();
    let mut seeder =
        Seeder::new(99, now, Duration::from_secs(7 * 86_400)).avoid(now - time::Duration::days(3));
    audit_seed::append(&app.db, &seeder.events(600))
        .await
        .unwrap();
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let creds = oauth.credentials(&alice, "dev").await;
    let api = app.admin_audit_api().await;

    let exported = api.export(&[]).await;
    let (head, _) = app.chain_head().await;
    assert_eq!(
        exported.len() as i64,
        head,
        "the export holds the whole chain"
    );
    for (i, e) in exported.iter().enumerate() {
        assert_eq!(e.chain_seq, i as i64 + 1, "not oldest first without gaps");
    }
    let last = exported.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.principal.as_deref()),
        ("audit_export", Some("admin@example.com")),
        "the export is itself recorded before the events stream"
    );
    let issue = exported
        .iter()
        .find(|e| e.access_key_id.as_deref() == Some(creds.access_key_id.as_str()))
        .expect("alice's issue is exported");
    assert_eq!(
        issue.expiration.as_deref().map(str::len),
        Some(27),
        "{issue:#?}"
    );

    let mut listed = api.list_all(&[], 250).await;
    listed.reverse();
    assert_eq!(listed.len(), exported.len());
    assert!(listed == exported, "the list API and the export disagree");
    let table = app.table_views(&format!("chain_seq <= {head}")).await;
    for (t, e) in table.iter().zip(&exported) {
        assert_eq!(t, e, "the export differs from the table");
    }
    assert_eq!(table.len(), exported.len());

    let filters = [
        ("principal", "user1*@example.com".to_owned()),
        ("action", "credentials_issue".to_owned()),
        ("since", "3d".to_owned()),
    ];
    let exported = api.export(&filters).await;
    assert!(
        exported.len() > 5,
        "precondition: the filter matches some events"
    );
    let mut listed = api.list_all(&filters, 7).await;
    listed.reverse();
    assert!(
        listed == exported,
        "filtered: the list API and the export disagree"
    );
    let table = app
        .table_views(
            "principal LIKE 'user1%@example.com' AND action = 'credentials_issue' \
             AND occurred_at >= now() - interval '3 days'",
        )
        .await;
    assert!(
        table == exported,
        "filtered: the export differs from the table"
    );
}
