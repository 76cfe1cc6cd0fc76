//! SIGTERM with requests in flight, against the real `vault-server` binary: new connections are
//! refused at once, the requests finish with their audit events committed, and the process
//! records `server_stop` and exits 0 within the shutdown grace. A follow long poll does not hold
//! a shutdown for its wait.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use vault_api::Credentials;
use vault_e2e::config::{default_profiles, random_account_id, ServerSettings};
use vault_e2e::database::TestDatabase;
use vault_e2e::env::TestEnv;
use vault_e2e::owned_keys::server::{free_port, ServerProcess};
use vault_e2e::{OAuthClient, TestApp};

/// `[http].shutdown_grace` of this test's server.
const GRACE: Duration = Duration::from_secs(20);
const IN_FLIGHT: usize = 3;

/// Lines of the server's log showing it began to handle a credentials request (tower-http's
/// request span at debug).
fn credential_requests_started(server: &ServerProcess) -> usize {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains("started processing request") && l.contains("/v1/credentials"))
        .count()
}

async fn blocked_on_a_lock(db: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND wait_event_type = 'Lock'",
    )
    .fetch_one(db)
    .await
    .expect("reading pg_stat_activity")
}

#[tokio::test]
async fn sigterm_refuses_new_connections_and_lets_requests_in_flight_finish_and_commit() {
    vault_e2e::logs::init();
    let env = TestEnv::get();
    let database = TestDatabase::create(&env.database_url)
        .await
        .expect("creating the test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let settings = ServerSettings {
        database_url: database.url.clone(),
        public_url: None,
        idp_issuer: env.idp_issuer.clone(),
        federation_url: env.federation_url.clone(),
        moto_url: env.moto_url.clone(),
        account_id: random_account_id(),
        access_token_ttl: "15m".into(),
        refresh_token_ttl: "30d".into(),
        profiles: default_profiles(),
        extra_top_level: format!(
            "listen = \"127.0.0.1:{port}\"\nhttp = {{ shutdown_grace = \"{}s\" }}\n",
            GRACE.as_secs()
        ),
        migration_database_url: None,
        audit_retention: None,
        limits: None,
    };
    let config = dir.path().join("server.toml");
    std::fs::write(&config, settings.to_toml()).expect("writing the config");
    let env_vars = vec![(
        "RUST_LOG".to_owned(),
        "info,sqlx=warn,aws_config=warn,tower_http=debug".to_owned(),
    )];
    let mut server = ServerProcess::start(
        "graceful",
        port,
        config,
        dir.path().join("server.log"),
        env_vars,
    )
    .await;
    let token = OAuthClient::new(&server.url)
        .login("alice")
        .await
        .access_token;
    let db = database.pool().await.expect("connecting the test pool");

    // Every audit commit waits for this lock, so the requests stay in flight until it goes.
    let mut head = db.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM audit_chain_head FOR UPDATE")
        .execute(&mut *head)
        .await
        .expect("locking the audit head");
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let client = OAuthClient::new(&server.url);
            let token = token.clone();
            tokio::spawn(async move {
                let resp = client
                    .post_json(
                        &token,
                        "/v1/credentials",
                        &serde_json::json!({"profile": "dev"}),
                    )
                    .await;
                let status = resp.status().as_u16();
                (status, resp.text().await.unwrap_or_default())
            })
        })
        .collect();
    vault_e2e::poll::until(
        "the server to be handling every credentials request",
        Duration::from_secs(30),
        || async { (credential_requests_started(&server) >= IN_FLIGHT).then_some(()) },
    )
    .await;
    vault_e2e::poll::until(
        "an audit commit to wait for the held lock",
        Duration::from_secs(30),
        || async { (blocked_on_a_lock(&db).await > 0).then_some(()) },
    )
    .await;

    server.terminate();

    let addr = format!("127.0.0.1:{port}");
    vault_e2e::poll::until(
        "new connections to be refused",
        Duration::from_secs(5),
        || async {
            match tokio::net::TcpStream::connect(&addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(()),
                _ => None,
            }
        },
    )
    .await;
    assert!(
        requests.iter().all(|r| !r.is_finished()),
        "a request finished while its audit commit could not"
    );
    head.rollback().await.expect("releasing the audit head");
    let released = Instant::now();

    let mut keys = Vec::new();
    for request in requests {
        let (status, body) = tokio::time::timeout(GRACE, request)
            .await
            .expect("an in-flight request did not finish within the grace")
            .expect("request task");
        assert_eq!(status, 200, "an in-flight request: {body}");
        let creds: Credentials =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        keys.push(creds.access_key_id);
    }
    let status = server.wait_exit(GRACE).await;
    assert!(
        status.success(),
        "the server exited with {status}:\n{}",
        server.log_text()
    );
    assert!(released.elapsed() < GRACE, "{:?}", released.elapsed());

    let audited: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, access_key_id FROM audit_events
          WHERE action IN ('credentials_issue', 'server_stop') ORDER BY seq",
    )
    .fetch_all(&db)
    .await
    .expect("reading audit_events");
    for key in &keys {
        assert!(
            audited
                .iter()
                .any(|(_, k)| k.as_deref() == Some(key.as_str())),
            "no committed credentials_issue for {key}: {audited:?}"
        );
    }
    assert_eq!(
        audited.last().map(|(a, _)| a.as_str()),
        Some("server_stop"),
        "server_stop is not recorded after the requests: {audited:?}"
    );
    db.close().await;
    database.drop_database().await.ok();
}

/// In the statement a follow runs each time it looks for new events (`db::audit::after`).
const LOOKS_FOR_NEW_EVENTS: &str = "ORDER BY chain_seq ASC LIMIT";

#[tokio::test]
async fn a_follow_long_poll_answers_at_once_when_the_server_shuts_down() {
    let mut app = TestApp::spawn().await;
    let api = app.admin_audit_api().await;
    let since = app.database_now().await;
    let follow = tokio::spawn(async move { api.follow(&[("wait", "60".into())]).await });
    app.wait_for_statement(
        "the follow to look for new events",
        LOOKS_FOR_NEW_EVENTS,
        since,
        Duration::from_secs(30),
    )
    .await;

    let stopping = Instant::now();
    app.stop_server().await;

    let stopped = stopping.elapsed();
    assert!(
        stopped < Duration::from_secs(10),
        "the shutdown took {stopped:?}: the follow held it"
    );
    let page = tokio::time::timeout(Duration::from_secs(5), follow)
        .await
        .expect("the follow answered")
        .expect("follow task");
    assert!(page.events.is_empty(), "{page:#?}");
    assert!(page.next_cursor.is_some(), "{page:#?}");
}
