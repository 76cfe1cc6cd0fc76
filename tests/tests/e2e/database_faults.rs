//! Postgres itself failing under the broker (issue 10): killed with `kill -9` and restarted,
//! stopped with SIGSTOP and continued. Each test runs its own durable cluster (fsync and
//! synchronous_commit on) and an in-process server on it; AWS is moto, people log in at the
//! dev IdP.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use vault_api::ErrorBody;
use vault_e2e::database::TestDatabase;
use vault_e2e::own_postgres::OwnPostgres;
use vault_e2e::owned_keys::load::{Load, LoadReport};
use vault_e2e::{poll, TestApp};

/// Short bounds, so an outage shows within a few seconds.
const BOUNDS: &str = r#"
[database]
acquire_timeout = "2s"
statement_timeout = "3s"
readiness_timeout = "1s"

[timeouts]
request = "4s"
"#;

/// A pool that would wait 30 s for a connection: only the whole-request bound (4 s) can end a
/// request to a stopped Postgres in time.
const PATIENT_POOL: &str = r#"
[database]
acquire_timeout = "30s"
readiness_timeout = "1s"

[timeouts]
request = "4s"
"#;

/// What a test asserts every answer during an outage stays under: the request bound (4 s) with
/// room for a loaded 2-core machine.
const ANSWER_BOUND: Duration = Duration::from_secs(8);

async fn app_on(pg: &OwnPostgres, bounds: &str) -> TestApp {
    let database = TestDatabase::create(&pg.url)
        .await
        .expect("creating the test database in the private cluster");
    TestApp::builder()
        .database(database)
        .extra_toml(bounds)
        .spawn()
        .await
}

/// A failed answer of the load: a 503 with an ErrorBody and nothing that looks like a key.
fn assert_clean_503(status: Option<u16>, body: &str) {
    assert_eq!(status, Some(503), "{body}");
    assert!(!body.contains("AccessKeyId"), "credentials left: {body}");
    assert!(!body.contains("ASIA"), "a session key left: {body}");
    serde_json::from_str::<ErrorBody>(body)
        .unwrap_or_else(|e| panic!("the 503 body is not an ErrorBody ({e}): {body}"));
}

/// The AccessKeyIds of committed successful issue events.
async fn audited_keys(app: &TestApp) -> HashSet<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT access_key_id FROM audit_events
          WHERE action = 'credentials_issue' AND outcome = 'success' AND access_key_id IS NOT NULL",
    )
    .fetch_all(&app.db)
    .await
    .expect("reading the audit table")
    .into_iter()
    .collect()
}

fn received_keys(report: &LoadReport) -> Vec<String> {
    report
        .samples
        .iter()
        .filter(|s| s.ok())
        .map(|s| {
            s.access_key_id
                .clone()
                .expect("a 200 answer carries an AccessKeyId")
        })
        .collect()
}

#[tokio::test]
async fn postgres_killed_and_restarted_under_issuance_loses_no_audit_event_and_the_server_recovers_by_itself(
) {
    let pg = OwnPostgres::start().await;
    let app = app_on(&pg, BOUNDS).await;
    let token = app.oauth().login("alice").await.access_token;

    let load = Load::start(&app.url, &token, "dev", 20);
    load.wait_answered_since(load.started, 20, Duration::from_secs(30))
        .await;

    pg.kill9_postmaster().await;
    let killed = Instant::now();
    load.wait_answered_since(killed, 20, Duration::from_secs(60))
        .await;
    let restarting = Instant::now();
    pg.restart().await;
    let restarted = Instant::now();
    poll::until(
        "20 issued credentials after Postgres restarted",
        Duration::from_secs(60),
        || async { (load.successes_since(restarted) >= 20).then_some(()) },
    )
    .await;
    let report = load.stop().await;

    // During the outage: only clean 503s, and every answer within the bound.
    let outage: Vec<_> = report
        .samples
        .iter()
        .filter(|s| s.sent >= killed && s.done < restarting)
        .collect();
    assert!(
        !outage.is_empty(),
        "no request was answered while Postgres was down"
    );
    for s in &outage {
        assert_clean_503(s.status, s.error.as_deref().unwrap_or_default());
        assert!(
            s.done - s.sent < ANSWER_BOUND,
            "an answer during the outage took {:?}",
            s.done - s.sent
        );
    }
    for s in report.failures() {
        assert_clean_503(s.status, s.error.as_deref().unwrap_or_default());
    }

    // Back without a server restart: successes again, soon after Postgres was.
    let first_ok = report
        .samples
        .iter()
        .filter(|s| s.ok() && s.sent >= restarted)
        .map(|s| s.done)
        .min()
        .expect("a success after the restart");
    let recovery = first_ok - restarted;
    eprintln!(
        "MEASURE kill -9: {} answers during the outage (all 503, slowest {:?}); first success {:?} after Postgres was back; {} requests, {} failed",
        outage.len(),
        outage.iter().map(|s| s.done - s.sent).max().unwrap_or_default(),
        recovery,
        report.samples.len(),
        report.failures().len()
    );
    assert!(
        recovery < Duration::from_secs(15),
        "the server took {recovery:?} to serve again"
    );

    // Every AccessKeyId any client received has its committed audit event.
    let audited = audited_keys(&app).await;
    let received = received_keys(&report);
    assert!(received.len() >= 40, "{} successes", received.len());
    let missing: Vec<_> = received.iter().filter(|k| !audited.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "credentials without a committed audit event: {missing:?}"
    );
}

/// One credential request: status, body, how long it took.
async fn issue(app: &TestApp, token: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let resp = app
        .http
        .post(app.endpoint("/v1/credentials"))
        .bearer_auth(token)
        .json(&serde_json::json!({"profile": "dev"}))
        .send()
        .await
        .expect("the server answers");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").cloned();
    let body = resp.text().await.unwrap_or_default();
    if status == 503 {
        assert!(retry_after.is_some(), "a 503 without Retry-After: {body}");
    }
    (status, body, started.elapsed())
}

async fn readyz(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let resp = app
        .http
        .get(app.endpoint("/readyz"))
        .send()
        .await
        .expect("the server answers /readyz");
    (resp.status().as_u16(), started.elapsed())
}

#[tokio::test]
async fn requests_get_503_within_the_bound_while_postgres_is_stopped_and_service_returns_after_sigcont(
) {
    let pg = OwnPostgres::start().await;
    let app = app_on(&pg, PATIENT_POOL).await;
    let token = app.oauth().login("alice").await.access_token;
    let (status, body, _) = issue(&app, &token).await;
    assert_eq!(status, 200, "{body}");

    let stopped = pg.stop_all().await;
    // Several requests at once, so some hold pooled connections to the stopped server while
    // others wait for one.
    let issues: Vec<_> = (0..6).map(|_| issue(&app, &token)).collect();
    let (issued, ready) = tokio::join!(futures_util::future::join_all(issues), readyz(&app));
    let slowest = issued.iter().map(|(_, _, d)| *d).max().unwrap_or_default();
    for (status, body, took) in &issued {
        assert_clean_503(Some(*status), body);
        let error: ErrorBody = serde_json::from_str(body).expect("checked");
        assert_eq!(error.error, "temporarily_unavailable", "{body}");
        assert!(
            *took < ANSWER_BOUND,
            "a request took {took:?} to fail: {body}"
        );
    }
    assert_eq!(ready.0, 503, "/readyz is ready while Postgres is stopped");
    assert!(ready.1 < ANSWER_BOUND, "/readyz took {:?}", ready.1);

    stopped.resume().await;
    let continued = Instant::now();
    poll::until(
        "credentials and /readyz after SIGCONT",
        Duration::from_secs(30),
        || async {
            let (status, _, _) = issue(&app, &token).await;
            (status == 200 && readyz(&app).await.0 == 200).then_some(())
        },
    )
    .await;
    eprintln!(
        "MEASURE SIGSTOP: 6 credential requests all 503, slowest {slowest:?}; /readyz 503 in {:?}; service and /readyz back {:?} after SIGCONT",
        ready.1,
        continued.elapsed()
    );
}
