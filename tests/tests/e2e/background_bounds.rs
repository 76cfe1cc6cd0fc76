//! Work that is not one short request is bounded too (issue 10, point 8): an export to a reader
//! that stops reading holds no pooled connection, and a rotation step is recorded only if its
//! row is still at the step the writer ran.

use std::time::Duration;

use vault_e2e::audit_seed::{self, Seeder};
use vault_e2e::owned_keys::KeyBed;
use vault_e2e::{poll, TestApp};

/// Enough events that an export (about 0.7 KB a line) cannot fit in the socket buffers between
/// the server and a reader that stops reading.
const EXPORT_EVENTS: usize = 40_000;

#[tokio::test]
async fn audit_exports_to_readers_that_stop_reading_leave_the_pool_to_credential_requests() {
    // Three connections: the revocation listener keeps one, so two exports pinned to theirs
    // would leave none for anyone else.
    let app = TestApp::builder()
        .extra_toml("[database]\nmax_connections = 3\n")
        .spawn()
        .await;
    let now = vault_server::clock::now();
    let mut seeder = Seeder::new(10, now, Duration::from_secs(86_400));
    audit_seed::append(&app.db, &seeder.events(EXPORT_EVENTS))
        .await
        .expect("seeding the trail");
    let oauth = app.oauth();
    let admin = oauth.login("admin").await.access_token;
    let alice = oauth.login("alice").await.access_token;

    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut resp = app
            .http
            .get(app.endpoint("/v1/audit/export"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("GET /v1/audit/export");
        assert_eq!(resp.status(), 200);
        let first = resp.chunk().await.expect("the export streams");
        assert!(first.is_some_and(|c| !c.is_empty()), "an empty export");
        // Kept open and never read again.
        stalled.push(resp);
    }

    for i in 0..5 {
        let resp = oauth
            .post_json(
                &alice,
                "/v1/credentials",
                &serde_json::json!({"profile": "dev"}),
            )
            .await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(
            status, 200,
            "credential request {i} while two exports wait for their readers: {body}"
        );
    }
    drop(stalled);
}

/// What the rotating replica logs when its step's row moved on under it.
const MOVED: &str = "rotation moved on under this writer; nothing recorded";

#[tokio::test]
async fn a_rotation_step_that_finds_its_row_at_another_step_writes_nothing() {
    let bed = KeyBed::builder()
        .grace("0s", "1h")
        .through_proxy()
        .start()
        .await;
    let proxy = bed.proxy.as_ref().expect("through a proxy");
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;

    // The `activated` step runs (it deactivates the old key in IAM) and is held there.
    proxy.hold("UpdateAccessKey");
    let id = bed.request_rotation(&server, &admin).await;
    proxy.wait_until_held(Duration::from_secs(60)).await;
    assert_eq!(bed.rotation(id).await.step, "activated");

    // Meanwhile another writer records that step first (as a second leader could).
    sqlx::query(
        "UPDATE key_rotations SET step = 'deactivated', updated_at = now(),
                next_attempt_at = now() + interval '1 hour'
          WHERE id = $1",
    )
    .bind(id)
    .execute(bed.db())
    .await
    .expect("moving the rotation on");
    let before = bed.rotation(id).await;
    let keys_before = bed.keys().await;

    assert_eq!(proxy.release(true), 1, "one UpdateAccessKey was held");
    poll::until(
        "the replica to report the rotation moved on",
        Duration::from_secs(30),
        || async { (server.log_count(MOVED) > 0).then_some(()) },
    )
    .await;

    let after = bed.rotation(id).await;
    assert_eq!(after.step, "deactivated", "{after:#?}");
    assert_eq!(after.updated_at, before.updated_at, "{after:#?}");
    assert_eq!(after.next_attempt_at, before.next_attempt_at, "{after:#?}");
    assert_eq!(after.attempts, before.attempts, "{after:#?}");
    let states = |keys: Vec<vault_e2e::owned_keys::KeyRow>| -> Vec<(String, String)> {
        keys.into_iter()
            .map(|k| (k.access_key_id, k.state))
            .collect()
    };
    assert_eq!(
        states(bed.keys().await),
        states(keys_before),
        "a key changed state"
    );
    for action in ["key_deactivated", "key_rotation_failure"] {
        let rows = bed.audit_rows_for(action).await;
        assert!(rows.is_empty(), "{action} was written: {rows:#?}");
    }
}

/// Events enough that one COPY of them, and one prune of them, take far longer than
/// [`REQUEST_STATEMENT_BOUND`] (Postgres produces the COPY at about 3 µs an event).
const LONG_TRAIL: usize = 100_000;
/// The pool's statement bound in the test below: sized for short requests, as in production.
const REQUEST_STATEMENT_BOUND: &str = "25ms";

#[tokio::test]
async fn chain_verification_and_a_retention_prune_outlast_the_pools_statement_timeout() {
    let app = TestApp::spawn().await;
    let now = vault_server::clock::now();
    // Every seeded event is between 1 and 2 days old.
    let mut seeder = Seeder::new(
        12,
        now - time::Duration::days(1),
        Duration::from_secs(86_400),
    );
    audit_seed::append(&app.db, &seeder.events(LONG_TRAIL))
        .await
        .expect("seeding the trail");
    // A pool like the server's: Postgres cuts any statement of it after the request bound.
    let options: sqlx::postgres::PgConnectOptions = app.database.url.parse().expect("URL");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.options([("statement_timeout", REQUEST_STATEMENT_BOUND)]))
        .await
        .expect("connecting");
    let bound: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .expect("SHOW");
    assert_eq!(
        bound, REQUEST_STATEMENT_BOUND,
        "the pool's statement bound is in force"
    );

    // The whole chain in one COPY.
    let report = vault_server::trail::verify::verify_in_parts(&pool, None, None, Some(1))
        .await
        .unwrap_or_else(|e| panic!("verification was cut: {e}"));
    assert!(report.ok, "{report:?}");
    assert!(report.checked >= LONG_TRAIL as u64, "{report:?}");

    // The whole trail in one prune (the cutoff is after every event, the server's own included).
    let later = now + time::Duration::days(1);
    let pruned = vault_server::trail::retention::prune_once(&pool, Duration::from_secs(1), later)
        .await
        .unwrap_or_else(|e| panic!("the prune was cut: {e}"))
        .expect("something to prune");
    assert!(pruned.pruned >= LONG_TRAIL as i64, "{pruned:?}");
    // And the bound is back for the pool's next user.
    let bound: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .expect("SHOW");
    assert_eq!(bound, REQUEST_STATEMENT_BOUND);
    pool.close().await;
}

/// A statement Postgres cancels at `statement_timeout` (SQLSTATE 57014) is the database being too
/// slow, not down: a 503 that says so, with Retry-After, and a log line naming the timeout.
#[tokio::test]
async fn a_request_whose_statement_is_cut_by_statement_timeout_gets_a_503_saying_the_database_was_too_slow(
) {
    use sqlx::Connection;
    let app = TestApp::builder()
        .extra_toml("[database]\nstatement_timeout = \"1s\"\n")
        .spawn()
        .await;
    let api = app.admin_audit_api().await;
    // Another session holds the per-minute marks a windowed listing reads: its SELECT waits on
    // the lock until Postgres cancels it.
    let mut holder = sqlx::PgConnection::connect(&app.database.url)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE audit_time_marks IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let resp = api.get("/v1/audit", &[("since", "24h".into())]).await;
    let status = resp.status();
    let retry_after = resp.headers().get("retry-after").cloned();
    let request_id = vault_e2e::logs::request_id(&resp);
    let body = resp.text().await.unwrap();
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(retry_after.is_some(), "a 503 without Retry-After: {body}");
    let err: vault_api::ErrorBody = serde_json::from_str(&body).unwrap();
    assert!(err.message.contains("took too long"), "{body}");
    let lines = vault_e2e::logs::of_request(&request_id);
    assert!(
        lines.iter().any(|l| l.contains("statement_timeout")),
        "the log of request {request_id} does not name the statement timeout:\n{}",
        lines.join("\n")
    );
    // With the lock gone, the same listing is served.
    let resp = api.get("/v1/audit", &[("since", "24h".into())]).await;
    assert_eq!(resp.status(), 200);
}
