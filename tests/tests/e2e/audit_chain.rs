//! The hash chain against real Postgres: superuser edits and deletions are reported exactly, and
//! two replicas sharing one database write one unbroken chain.

use std::collections::HashMap;
use std::time::Duration;
use vault_api::audit::VerifyReport;
use vault_e2e::audit_seed::{self, Seeder};
use vault_e2e::TestApp;
use vault_server::audit::chain::AuditRow;

/// A server whose chain holds a login, two issues and 200 seeded events; returns the chain
/// position of alice's first `credentials_issue` event, somewhere in the middle.
async fn app_with_a_chain() -> (TestApp, i64) {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let mut seeder = Seeder::new(11, vault_server::clock::now(), Duration::from_secs(86_400));
    audit_seed::append(&app.db, &seeder.events(100))
        .await
        .unwrap();
    let creds = oauth.credentials(&alice, "dev").await;
    audit_seed::append(&app.db, &seeder.events(100))
        .await
        .unwrap();
    oauth.credentials(&alice, "dev").await;
    let seq: i64 =
        sqlx::query_scalar("SELECT chain_seq FROM audit_events WHERE access_key_id = $1")
            .bind(&creds.access_key_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    (app, seq)
}

fn assert_intact(report: &VerifyReport, what: &str) {
    assert!(
        report.ok && report.broken.is_none(),
        "{what}: expected an intact chain, got {report:#?}"
    );
}

/// The stored row at `chain_seq`, as the server's chain code reads it.
async fn stored_row(app: &TestApp, chain_seq: i64) -> AuditRow {
    let mut rows = app.stored_rows(chain_seq).await;
    assert!(!rows.is_empty(), "no event at {chain_seq}");
    rows.swap_remove(0)
}

#[tokio::test]
async fn editing_one_row_with_superuser_sql_is_reported_by_verify_as_exactly_that_event() {
    let (app, seq) = app_with_a_chain().await;
    let api = app.admin_audit_api().await;
    let (head, _) = app.chain_head().await;
    let before = api.verify(&[]).await;
    assert_intact(&before, "before tampering");
    assert_eq!(before.first_seq, Some(1), "{before:#?}");
    assert_eq!(before.last_seq, Some(head), "{before:#?}");
    assert_eq!(before.checked, head as u64, "{before:#?}");
    let target = app.table_event(seq).await;

    let changed = app
        .tamper(&format!(
            "UPDATE audit_events SET principal = 'mallory@example.com' WHERE chain_seq = {seq}"
        ))
        .await;
    assert_eq!(changed, 1);

    let report = api.verify(&[]).await;
    assert!(!report.ok, "an edited chain verified: {report:#?}");
    let broken = report.broken.expect("a broken link");
    assert_eq!(broken.chain_seq, seq, "{broken:#?}");
    assert_eq!(
        broken.id.as_deref(),
        Some(target.id.as_str()),
        "{broken:#?}"
    );
    assert!(broken.reason.contains("changed"), "{broken:#?}");
    assert_eq!(
        report.checked,
        (seq - 1) as u64,
        "events before the edit were checked"
    );

    let range = |from: i64, to: i64| [("from_seq", from.to_string()), ("to_seq", to.to_string())];
    let earlier = api.verify(&range(1, seq - 1)).await;
    assert_intact(&earlier, "the range before the edit");
    assert_eq!(earlier.checked, (seq - 1) as u64);
    let just_it = api.verify(&range(seq, seq)).await;
    assert_eq!(just_it.broken.map(|b| b.chain_seq), Some(seq));
}

#[tokio::test]
async fn an_edit_with_its_own_hash_recomputed_breaks_the_link_to_the_next_event() {
    let (app, seq) = app_with_a_chain().await;
    let api = app.admin_audit_api().await;
    let mut row = stored_row(&app, seq).await;
    row.access_key_id = Some("ASIAFORGEDFORGED0000".into());
    let forged = row.expected_hash(&row.prev_hash).unwrap();
    app.tamper(&format!(
        "UPDATE audit_events SET access_key_id = 'ASIAFORGEDFORGED0000', hash = '\\x{}' \
         WHERE chain_seq = {seq}",
        hex::encode(forged)
    ))
    .await;
    let next = app.table_event(seq + 1).await;

    let report = api.verify(&[]).await;
    let broken = report.broken.expect("a broken link");
    assert_eq!(broken.chain_seq, seq + 1, "{broken:#?}");
    assert_eq!(broken.id.as_deref(), Some(next.id.as_str()), "{broken:#?}");
    assert!(broken.reason.contains("prev_hash"), "{broken:#?}");
}

#[tokio::test]
async fn deleting_a_row_is_detected_and_the_missing_position_named() {
    let (app, seq) = app_with_a_chain().await;
    let api = app.admin_audit_api().await;
    assert_intact(&api.verify(&[]).await, "before tampering");

    assert_eq!(
        app.tamper(&format!("DELETE FROM audit_events WHERE chain_seq = {seq}"))
            .await,
        1
    );
    let report = api.verify(&[]).await;
    assert!(!report.ok);
    let broken = report.broken.expect("a broken link");
    assert_eq!(broken.chain_seq, seq, "{broken:#?}");
    assert_eq!(
        broken.id, None,
        "a deleted event has no id to show: {broken:#?}"
    );
    assert!(
        broken.reason.contains(&format!("event {seq} is missing")),
        "{broken:#?}"
    );

    // A run of deleted events is named as a range (checking from after the first hole).
    app.tamper(&format!(
        "DELETE FROM audit_events WHERE chain_seq BETWEEN {} AND {}",
        seq + 10,
        seq + 12
    ))
    .await;
    let report = api.verify(&[("from_seq", (seq + 2).to_string())]).await;
    let broken = report.broken.expect("a broken link");
    assert_eq!(broken.chain_seq, seq + 10, "{broken:#?}");
    assert!(
        broken
            .reason
            .contains(&format!("events {}..{} are missing", seq + 10, seq + 12)),
        "{broken:#?}"
    );
}

#[tokio::test]
async fn deleting_the_newest_row_is_detected_before_and_after_more_events_follow() {
    let (app, _) = app_with_a_chain().await;
    let api = app.admin_audit_api().await;
    assert_intact(&api.verify(&[]).await, "before tampering");
    // The last verify recorded an audit_verify event; that is the newest row now.
    let (head, _) = app.chain_head().await;
    assert_eq!(app.table_event(head).await.action, "audit_verify");

    assert_eq!(
        app.tamper(&format!(
            "DELETE FROM audit_events WHERE chain_seq = {head}"
        ))
        .await,
        1
    );
    let report = api.verify(&[]).await;
    let broken = report
        .broken
        .expect("deleting the newest event went unnoticed");
    assert_eq!(broken.chain_seq, head, "{broken:#?}");
    assert!(broken.reason.contains("missing"), "{broken:#?}");

    // New events link to the deleted one; the hole stays visible.
    app.oauth().login("alice").await;
    let report = api.verify(&[]).await;
    let broken = report.broken.expect("the hole was papered over");
    assert_eq!(broken.chain_seq, head, "{broken:#?}");
    assert!(
        broken.reason.contains(&format!("event {head} is missing")),
        "{broken:#?}"
    );
}

#[tokio::test]
async fn rewriting_the_newest_row_with_a_consistent_hash_disagrees_with_the_chain_head() {
    let (app, _) = app_with_a_chain().await;
    let api = app.admin_audit_api().await;
    assert_intact(&api.verify(&[]).await, "before tampering");
    let (head, head_hash) = app.chain_head().await;
    let mut row = stored_row(&app, head).await;
    assert_eq!(row.hash, head_hash);
    row.outcome = "failure".into();
    let forged = row.expected_hash(&row.prev_hash).unwrap();
    app.tamper(&format!(
        "UPDATE audit_events SET outcome = 'failure', hash = '\\x{}' WHERE chain_seq = {head}",
        hex::encode(forged)
    ))
    .await;

    let report = api.verify(&[]).await;
    let broken = report
        .broken
        .expect("a rewritten newest event went unnoticed");
    assert_eq!(broken.chain_seq, head, "{broken:#?}");
    assert!(broken.reason.contains("chain head"), "{broken:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_sharing_one_database_issuing_concurrently_write_one_valid_chain() {
    let a = TestApp::spawn().await;
    let b = TestApp::builder().sharing_database_of(&a).spawn().await;
    let alice = a.oauth().login("alice").await.access_token;
    let bob = b.oauth().login("bob").await.access_token;

    // 10 clients per server, each asking 5 times in a row: many commits on both writers.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (oauth, token, who) = if i % 2 == 0 {
            (a.oauth(), alice.clone(), "alice@example.com")
        } else {
            (b.oauth(), bob.clone(), "bob@example.com")
        };
        tasks.spawn(async move {
            let mut keys = Vec::new();
            for _ in 0..5 {
                keys.push((who, oauth.credentials(&token, "dev").await.access_key_id));
            }
            keys
        });
    }
    let mut issued: HashMap<String, &str> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        for (who, key) in done.expect("issuing task") {
            assert!(
                issued.insert(key, who).is_none(),
                "the same key was issued twice"
            );
        }
    }
    assert_eq!(issued.len(), 100);

    let (count, min, max, distinct): (i64, Option<i64>, Option<i64>, i64) = sqlx::query_as(
        "SELECT count(*), min(chain_seq), max(chain_seq), count(DISTINCT chain_seq) FROM audit_events",
    )
    .fetch_one(&a.db)
    .await
    .unwrap();
    assert_eq!(min, Some(1), "the chain does not start at 1");
    assert_eq!(
        max,
        Some(count),
        "chain_seq has gaps: {count} events up to {max:?}"
    );
    assert_eq!(distinct, count, "chain positions repeat");
    let (head, head_hash) = a.chain_head().await;
    assert_eq!(Some(head), max);
    assert_eq!(stored_row(&a, head).await.hash, head_hash);

    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT access_key_id, principal FROM audit_events \
         WHERE action = 'credentials_issue' ORDER BY chain_seq",
    )
    .fetch_all(&a.db)
    .await
    .unwrap();
    let recorded: HashMap<&str, &str> =
        rows.iter().map(|(k, p)| (k.as_str(), p.as_str())).collect();
    for (key, who) in &issued {
        assert_eq!(
            recorded.get(key.as_str()),
            Some(who),
            "{key} has no row naming {who}"
        );
    }
    let switches = rows.windows(2).filter(|w| w[0].1 != w[1].1).count();
    assert!(
        switches >= 2,
        "precondition: the two servers' issues interleave in the chain ({switches} switches)"
    );

    let report = a.admin_audit_api().await.verify(&[]).await;
    assert_intact(&report, "after concurrent issuing on two servers");
    assert_eq!(report.first_seq, Some(1), "{report:#?}");
    // The admin's login came after the issues: the chain only grew.
    let last = report.last_seq.expect("a last position");
    assert!(last > head, "{report:#?}");
    assert_eq!(report.checked, last as u64, "{report:#?}");
}
