//! Hostile input fails no one else: an unprivileged user flooding oversized values and anonymous
//! junk tokens leaves another user's requests untouched and the audit trail with small events
//! naming the flooder; one event Postgres refuses fails only its own request, not its batch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use vault_api::{GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_JWT};
use vault_e2e::ci_issuer::spawn_ci_app;
use vault_e2e::{logs, poll, TestApp};

/// Flooding tasks, and requests each sends.
const FLOODERS: usize = 8;
const FLOOD_PER_TASK: usize = 40;
/// Most requests the other user sends while the flood lasts (the loop's bound).
const MAX_OTHER_REQUESTS: usize = 2_000;
const FLOODER: &str = "mallory@example.com";
const JUNK_TOKEN_BYTES: usize = 12 * 1024;

/// What one flood request was, and how it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flood {
    Profile,
    Duration,
    Role,
    JunkToken,
}

/// The audit trail's events after `seq`, each with `json_bytes`, its size as JSON.
async fn events_after(app: &TestApp, seq: i64) -> Vec<Value> {
    sqlx::query_scalar::<_, Value>(
        "SELECT row_to_json(a)::jsonb || jsonb_build_object('json_bytes', octet_length(row_to_json(a)::text))
           FROM audit_events a WHERE seq > $1 ORDER BY seq",
    )
    .bind(seq)
    .fetch_all(&app.db)
    .await
    .expect("reading audit_events")
}

async fn audit_table_bytes(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT pg_total_relation_size('audit_events')")
        .fetch_one(&app.db)
        .await
        .expect("sizing audit_events")
}

async fn last_seq(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM audit_events")
        .fetch_one(&app.db)
        .await
        .expect("reading the last seq")
}

/// Sends one flood request of `kind`; returns its status.
async fn flood_once(app: &TestApp, token: &str, kind: Flood) -> u16 {
    let long = "p".repeat(8_000);
    let user_agent = format!("flood/{}", "u".repeat(4_000));
    let req = match kind {
        Flood::Profile => app
            .http
            .post(app.endpoint("/v1/credentials"))
            .bearer_auth(token)
            .json(&json!({"profile": long, "duration_seconds": 3600})),
        Flood::Duration => app
            .http
            .post(app.endpoint("/v1/credentials"))
            .bearer_auth(token)
            .json(&json!({"profile": "dev", "duration_seconds": long})),
        Flood::Role => app
            .http
            .post(app.endpoint("/assume-role"))
            .bearer_auth(token)
            .json(&json!({"Role": long})),
        Flood::JunkToken => app.http.post(app.endpoint("/oauth/token")).form(&[
            ("grant_type", GRANT_TOKEN_EXCHANGE),
            ("subject_token", &"J".repeat(JUNK_TOKEN_BYTES)),
            ("subject_token_type", TOKEN_TYPE_JWT),
        ]),
    };
    let resp = req
        .header("user-agent", user_agent)
        .send()
        .await
        .expect("flood request");
    resp.status().as_u16()
}

#[tokio::test]
async fn an_unprivileged_flood_of_oversized_values_and_junk_tokens_fails_no_other_request_and_leaves_small_events_naming_the_flooder(
) {
    let app = Arc::new(TestApp::spawn().await);
    let oauth = app.oauth();
    let flooder = oauth.login("mallory").await.access_token;
    let alice = oauth.login("alice").await.access_token;
    oauth.credentials(&alice, "dev").await;
    let (seq_before, bytes_before) = (last_seq(&app).await, audit_table_bytes(&app).await);

    let remaining = Arc::new(AtomicUsize::new(FLOODERS));
    let kinds = [
        Flood::Profile,
        Flood::Duration,
        Flood::Role,
        Flood::JunkToken,
    ];
    let mut flood = tokio::task::JoinSet::new();
    for task in 0..FLOODERS {
        let (app, token, remaining) = (app.clone(), flooder.clone(), remaining.clone());
        flood.spawn(async move {
            let mut answers = Vec::with_capacity(FLOOD_PER_TASK);
            for i in 0..FLOOD_PER_TASK {
                let kind = kinds[(task + i) % kinds.len()];
                answers.push((kind, flood_once(&app, &token, kind).await));
            }
            remaining.fetch_sub(1, Ordering::SeqCst);
            answers
        });
    }
    // The other user asks for credentials for as long as the flood lasts.
    let mut other = Vec::new();
    while remaining.load(Ordering::SeqCst) > 0 && other.len() < MAX_OTHER_REQUESTS {
        let resp = oauth
            .post_json(&alice, "/v1/credentials", &json!({"profile": "dev"}))
            .await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        other.push((status, body));
    }
    let mut answers = Vec::new();
    while let Some(done) = flood.join_next().await {
        answers.extend(done.expect("a flood task"));
    }

    let failed: Vec<_> = other.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of the other user's {} requests failed during the flood: {:?}",
        failed.len(),
        other.len(),
        failed.first()
    );
    assert!(
        !other.is_empty(),
        "the other user sent nothing during the flood"
    );
    // Every flood request is refused as the client's mistake (or rate limited), never a 5xx.
    for (kind, status) in &answers {
        let expected: &[u16] = match kind {
            Flood::Profile | Flood::Role => &[404, 429],
            Flood::Duration => &[400, 429],
            Flood::JunkToken => &[401, 429],
        };
        assert!(expected.contains(status), "{kind:?} answered {status}");
    }

    let events = events_after(&app, seq_before).await;
    // (Refusals over a rate limit may be summed into other events; those are counted by 429s.)
    let by_flooder: Vec<&Value> = events
        .iter()
        .filter(|e| e["principal"] == FLOODER && e["action"] == "credentials_deny")
        .collect();
    let refused_credentials = answers
        .iter()
        .filter(|(k, s)| *k != Flood::JunkToken && *s != 429)
        .count();
    assert_eq!(
        by_flooder.len(),
        refused_credentials,
        "each refused credentials request of the flooder is one event naming them"
    );
    for e in &by_flooder {
        assert!(e["user_agent"].as_str().unwrap().len() <= 256, "{e:#}");
        let cut: Vec<&str> = e["details"]["truncated"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if e["details"]["code"] == "unknown_profile" {
            let profile = e["profile"].as_str().unwrap();
            assert!(
                profile.len() <= 128 && profile.ends_with(" bytes]"),
                "{e:#}"
            );
            assert!(cut.contains(&"profile"), "{e:#}");
        }
    }
    let junk: Vec<&Value> = events
        .iter()
        .filter(|e| e["details"]["subject_token_bytes"] == JUNK_TOKEN_BYTES)
        .collect();
    let refused_junk = answers
        .iter()
        .filter(|(k, s)| *k == Flood::JunkToken && *s != 429)
        .count();
    assert_eq!(
        junk.len(),
        refused_junk,
        "each refused junk token is one event"
    );
    assert!(junk.iter().all(|e| e["action"] == "ci_exchange"));
    let junk_text = "J".repeat(64);
    assert!(
        events.iter().all(|e| !e.to_string().contains(&junk_text)),
        "a junk token reached the audit trail"
    );

    // The flood's events are small, one by one and on disk.
    let flood_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["principal"] != "alice@example.com")
        .collect();
    let largest = flood_events
        .iter()
        .map(|e| e["json_bytes"].as_i64().unwrap())
        .max()
        .unwrap_or(0);
    assert!(largest < 2048, "a flood event is {largest} bytes");
    // On disk (table, indexes and their page slack), averaged over every new event, the other
    // user's issues included.
    let grown = audit_table_bytes(&app).await - bytes_before;
    let per_event = grown / events.len() as i64;
    println!(
        "hostile flood: {} flood requests, {} flood events of at most {largest} bytes as JSON; \
         audit_events grew {grown} bytes for {} events ({per_event} per event); \
         the other user: {} requests, all 200",
        answers.len(),
        flood_events.len(),
        events.len(),
        other.len()
    );
    assert!(
        per_event < 2048,
        "audit_events grew {per_event} bytes per event"
    );
}

#[tokio::test]
async fn an_event_postgres_refuses_fails_only_its_own_request_and_not_the_batch_it_shared() {
    const GOOD: usize = 6;
    let (issuer, app) = spawn_ci_app().await;
    let app = Arc::new(app);
    // Postgres refuses the audit event of one job (a real refusal, as an unstorable value was).
    app.refuse_audit_events_where(
        "poison_actor",
        "NEW.action = 'ci_exchange' AND NEW.details->'claims'->>'actor' = 'poison'",
    )
    .await;
    let exchange = |token: String| {
        let app = app.clone();
        tokio::spawn(async move {
            let resp = app
                .ci_exchange_raw(&[
                    ("grant_type", GRANT_TOKEN_EXCHANGE),
                    ("subject_token", &token),
                    ("subject_token_type", TOKEN_TYPE_JWT),
                ])
                .await;
            let request_id = vault_e2e::logs::request_id(&resp);
            (resp.status().as_u16(), request_id)
        })
    };

    // A first exchange holds the writer: its batch waits for the chain head this test locks.
    let lock = app
        .hold_lock("SELECT 1 FROM audit_chain_head FOR UPDATE")
        .await;
    let first = exchange(issuer.mint(json!({})));
    app.wait_until_blocked(
        "the writer's first batch",
        "audit_chain_head",
        Duration::from_secs(30),
    )
    .await;
    // Meanwhile six good jobs and the poisoned one reach the writer, which takes them as one batch.
    let mut batch: Vec<_> = (0..GOOD)
        .map(|_| exchange(issuer.mint(json!({}))))
        .collect();
    batch.push(exchange(issuer.mint(json!({"actor": "poison"}))));
    poll::until(
        "every exchange to wait for its audit event",
        Duration::from_secs(30),
        || async {
            let used: i64 = sqlx::query_scalar("SELECT count(*) FROM ci_token_uses")
                .fetch_one(&app.db)
                .await
                .unwrap();
            (used == GOOD as i64 + 2).then_some(())
        },
    )
    .await;
    lock.release().await;

    let (status, _) = first.await.unwrap();
    assert_eq!(status, 200, "the exchange ahead of the batch");
    let poisoned = batch.pop().unwrap().await.unwrap();
    assert_eq!(poisoned.0, 503, "the exchange whose event Postgres refused");
    for done in batch {
        let (status, request_id) = done.await.unwrap();
        assert_eq!(status, 200, "a good exchange sharing the refused batch");
        // It really shared the batch: the writer retried it alone after the batch of all seven failed.
        let lines = logs::of_request(&request_id);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("committing this event alone")
                    && l.contains(&format!("batch={}", GOOD + 1))),
            "request {request_id} was not retried from a batch of {}:\n{}",
            GOOD + 1,
            lines.join("\n")
        );
    }
    let failures = logs::of_request(&poisoned.1)
        .into_iter()
        .filter(|l| l.contains("audit event not committed"))
        .count();
    assert_eq!(failures, 1, "the refused event's cause is logged once");
    let granted = app.audit_rows_for("ci_exchange").await;
    assert_eq!(granted.len(), GOOD + 1, "every good exchange is audited");
    assert!(granted.iter().all(|e| e["outcome"] == "success"));
}
