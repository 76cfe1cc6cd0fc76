//! Retention: pruning old events leaves a checkpoint from which the remaining chain verifies;
//! removing old events any other way is reported as a break.

use std::time::Duration;
use vault_e2e::audit_seed::{self, Seeder};
use vault_e2e::{database::TestDatabase, env::TestEnv, TestApp};
use vault_server::clock;
use vault_server::trail::retention::prune_once;

const DAY: Duration = Duration::from_secs(86_400);
/// The lock every pruning pass takes first (`audit_prune()` in the migrations).
const LOCK_CHAIN_HEAD: &str = "SELECT 1 FROM audit_chain_head FOR UPDATE";
/// In the statement the server runs for a pruning pass.
const PRUNES: &str = "audit_prune(";

async fn count(app: &TestApp, where_sql: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM audit_events WHERE {where_sql}"
    ))
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn checkpoints(app: &TestApp) -> Vec<(i64, String, i64)> {
    sqlx::query_as(
        "SELECT cut_seq, encode(cut_hash, 'hex'), pruned FROM audit_checkpoints ORDER BY cut_seq",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// A database of its own with the server's schema and no server yet (so no start events).
async fn migrated_database() -> (TestDatabase, sqlx::PgPool) {
    let database = TestDatabase::create(&TestEnv::get().database_url)
        .await
        .unwrap();
    database.migrate().await.unwrap();
    let pool = database.pool().await.unwrap();
    (database, pool)
}

#[tokio::test]
async fn retention_pruning_by_the_server_leaves_a_chain_that_verifies_from_its_checkpoint() {
    // A trail that starts 40 days ago (seeded before any server writes its start event).
    let (database, seeding) = migrated_database().await;
    let now = clock::now();
    let mut events = Seeder::new(5, now - 40 * DAY, 20 * DAY).events(300);
    events.extend(Seeder::new(6, now, 10 * DAY).events(100));
    let positions = audit_seed::append(&seeding, &events).await.unwrap();
    assert_eq!(
        *positions.start(),
        1,
        "the trail starts with the seeded events"
    );
    let cut = positions.start() + 299;
    let cut_hash: String =
        sqlx::query_scalar("SELECT encode(hash, 'hex') FROM audit_events WHERE chain_seq = $1")
            .bind(cut)
            .fetch_one(&seeding)
            .await
            .unwrap();
    seeding.close().await;
    let doomed = 300;

    // A server with retention configured prunes at start and every second.
    let app = TestApp::builder()
        .database(database)
        .audit_retention("30d", "1s")
        .spawn()
        .await;
    let prune = app.first_prune().await;
    assert_eq!(prune["principal"], "vault-server", "{prune:#}");
    assert_eq!(prune["principal_kind"], "system", "{prune:#}");
    assert_eq!(prune["outcome"], "success", "{prune:#}");
    assert_eq!(prune["details"]["cut_seq"], cut, "{prune:#}");
    assert_eq!(prune["details"]["cut_hash"], cut_hash.as_str(), "{prune:#}");
    assert_eq!(prune["details"]["pruned"], doomed, "{prune:#}");
    assert!(
        prune["reason"].as_str().unwrap().contains("retention"),
        "{prune:#}"
    );
    assert_eq!(checkpoints(&app).await, [(cut, cut_hash, doomed)]);

    assert_eq!(
        count(&app, &format!("chain_seq <= {cut}")).await,
        0,
        "old events remain"
    );
    assert_eq!(
        count(
            &app,
            &format!("chain_seq BETWEEN {} AND {}", cut + 1, positions.end())
        )
        .await,
        100,
        "recent events were pruned"
    );

    let api = app.admin_audit_api().await;
    let report = api.verify(&[]).await;
    assert!(report.ok, "{report:#?}");
    assert!(report.from_checkpoint, "{report:#?}");
    assert_eq!(report.first_seq, Some(cut + 1), "{report:#?}");
    let (head, _) = app.chain_head().await;
    assert_eq!(
        report.last_seq,
        Some(head - 1),
        "all but the verify's own event: {report:#?}"
    );
    // A later pass has run to its end: a lock on the chain head stops one pass, and once that
    // one is let go, stops the next (passes run one after the other). Nothing more was pruned.
    let lock = app.hold_lock(LOCK_CHAIN_HEAD).await;
    app.wait_until_blocked("a later pruning pass", PRUNES, Duration::from_secs(30))
        .await;
    lock.release().await;
    let lock = app.hold_lock(LOCK_CHAIN_HEAD).await;
    app.wait_until_blocked("the pruning pass after it", PRUNES, Duration::from_secs(30))
        .await;
    assert_eq!(
        app.audit_rows_for("audit_prune").await.len(),
        1,
        "later passes found nothing more to prune"
    );
    assert_eq!(checkpoints(&app).await.len(), 1, "a later pass cut again");
    lock.release().await;

    // Removing the first event after the cut is not a retention cut.
    app.tamper(&format!(
        "DELETE FROM audit_events WHERE chain_seq = {}",
        cut + 1
    ))
    .await;
    let report = api.verify(&[]).await;
    assert!(!report.ok, "{report:#?}");
    let broken = report.broken.expect("a broken link");
    assert_eq!(broken.chain_seq, cut + 1, "{broken:#?}");
    assert!(
        broken.reason.contains("no retention checkpoint"),
        "{broken:#?}"
    );
}

#[tokio::test]
async fn an_event_newer_than_the_cutoff_is_never_pruned_even_when_older_ones_follow_it() {
    let (database, pool) = migrated_database().await;
    let now = clock::now();
    // Old events, then one written now, then old-looking events again (as a replica whose
    // clock runs 40 days slow would write them), then recent ones.
    let mut events = Seeder::new(11, now - 50 * DAY, 10 * DAY).events(100);
    events.extend(Seeder::new(12, now, DAY).events(1));
    events.extend(Seeder::new(13, now - 50 * DAY, 10 * DAY).events(50));
    events.extend(Seeder::new(14, now, DAY).events(20));
    let positions = audit_seed::append(&pool, &events).await.unwrap();
    assert_eq!(*positions.start(), 1);

    let pruned = prune_once(&pool, 30 * DAY, now)
        .await
        .unwrap()
        .expect("the first 100 events are old");
    assert_eq!((pruned.cut_seq, pruned.pruned), (100, 100), "{pruned:?}");
    let remaining: Vec<i64> =
        sqlx::query_scalar("SELECT chain_seq FROM audit_events ORDER BY chain_seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        remaining,
        (101..=172).collect::<Vec<_>>(),
        "the newer event at 101 and everything after it stay, plus the checkpoint event at 172"
    );
    let report = vault_server::trail::verify::verify(&pool, None, None)
        .await
        .unwrap();
    assert!(report.ok && report.from_checkpoint, "{report:#?}");
    assert_eq!(report.first_seq, Some(101), "{report:#?}");

    // Nothing more goes until the newer event itself is old.
    assert!(prune_once(&pool, 30 * DAY, now).await.unwrap().is_none());
    pool.close().await;
    database.drop_database().await.unwrap();
}

#[tokio::test]
async fn deleting_old_events_without_a_checkpoint_is_reported_as_broken() {
    let app = TestApp::spawn().await;
    let old = Seeder::new(8, clock::now() - 500 * DAY, 100 * DAY).events(200);
    audit_seed::append(&app.db, &old).await.unwrap();
    let api = app.admin_audit_api().await;
    assert!(api.verify(&[]).await.ok);

    let removed = app
        .tamper("DELETE FROM audit_events WHERE chain_seq <= 120")
        .await;
    assert_eq!(removed, 120);
    let report = api.verify(&[]).await;
    assert!(
        !report.ok,
        "old events vanished without a trace: {report:#?}"
    );
    assert!(!report.from_checkpoint, "{report:#?}");
    let broken = report.broken.expect("a broken link");
    assert_eq!(broken.chain_seq, 120, "{broken:#?}");
    assert!(
        broken.reason.contains("no retention checkpoint"),
        "{broken:#?}"
    );
}

#[tokio::test]
async fn pruning_with_a_clock_in_the_future_cuts_everything_and_each_cut_still_verifies() {
    let app = TestApp::spawn().await;
    let now = clock::now();
    audit_seed::append(&app.db, &Seeder::new(9, now, DAY).events(50))
        .await
        .unwrap();
    let keep = 400 * DAY;
    assert!(
        prune_once(&app.db, keep, now).await.unwrap().is_none(),
        "nothing is 400 days old yet"
    );
    let (head, head_hash) = app.chain_head().await;
    let rows = count(&app, "true").await;

    let later = now + 401 * DAY;
    let first = prune_once(&app.db, keep, later)
        .await
        .unwrap()
        .expect("everything is older than the cutoff");
    assert_eq!(
        (first.cut_seq, &first.cut_hash, first.pruned),
        (head, &head_hash, rows)
    );
    let remaining = app.table_views("true").await;
    assert_eq!(
        remaining.len(),
        1,
        "only the checkpoint event remains: {remaining:#?}"
    );
    assert_eq!(remaining[0].action, "audit_prune");
    assert_eq!(remaining[0].chain_seq, head + 1);
    assert_eq!(remaining[0].details["cut_seq"], head);

    let api = app.admin_audit_api().await;
    let report = api.verify(&[]).await;
    assert!(report.ok && report.from_checkpoint, "{report:#?}");
    assert_eq!(report.first_seq, Some(head + 1), "{report:#?}");

    // A second cut, through the first checkpoint event and the admin's own events. The
    // checkpoint event is dated `later`, and retention never cuts an event younger than the
    // cutoff, so this cut happens 401 days after that.
    assert!(prune_once(&app.db, keep, later).await.unwrap().is_none());
    let second = prune_once(&app.db, keep, later + 401 * DAY)
        .await
        .unwrap()
        .expect("a second cut");
    assert!(second.cut_seq > head + 1, "{second:?}");
    assert_eq!(checkpoints(&app).await.len(), 2);
    let report = api.verify(&[]).await;
    assert!(report.ok && report.from_checkpoint, "{report:#?}");
    assert_eq!(report.first_seq, Some(second.cut_seq + 1), "{report:#?}");
}
