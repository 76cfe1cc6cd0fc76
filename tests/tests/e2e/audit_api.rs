//! The admin audit API: who may use it, what input it refuses, and whether its filters and
//! pagination return exactly the events a plain SQL query over the table finds.

use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::OffsetDateTime;
use vault_api::audit::AuditEventView;
use vault_api::ErrorBody;
use vault_e2e::audit_seed::{self, Seeder};
use vault_e2e::TestApp;

const ENDPOINTS: [(&str, &str); 4] = [
    ("/v1/audit", "read the audit trail"),
    ("/v1/audit/follow", "follow the audit trail"),
    ("/v1/audit/export", "export the audit trail"),
    ("/v1/audit/verify", "verify the audit trail"),
];

/// `wait=0` keeps a follow call from long-polling.
fn no_wait(path: &str) -> Vec<(&'static str, String)> {
    if path.ends_with("follow") {
        vec![("wait", "0".to_owned())]
    } else {
        Vec::new()
    }
}

#[tokio::test]
async fn a_non_admin_gets_403_on_every_audit_endpoint_and_each_attempt_is_an_admin_denied_event() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let alice = app.audit_api(&oauth.login("alice").await.access_token);
    let bob = app.audit_api(&oauth.login("bob").await.access_token);

    for (path, _) in ENDPOINTS {
        for (who, api) in [("alice", &alice), ("bob", &bob)] {
            let resp = api.get(path, &no_wait(path)).await;
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert_eq!(status, 403, "{who} GET {path}: {body}");
            let err: ErrorBody = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{who} GET {path}: not an ErrorBody ({e}): {body}"));
            assert_eq!(err.error, "not_admin", "{body}");
            assert!(
                err.message.contains("admins"),
                "the refusal names the admin groups: {body}"
            );
            assert!(
                !body.contains("chain_seq"),
                "{who} got events from {path}: {body}"
            );
        }
    }

    let denied = app.audit_rows_for("admin_denied").await;
    assert_eq!(
        denied.len(),
        8,
        "one admin_denied event per refused call: {denied:#?}"
    );
    for (row, (path, attempted)) in denied.iter().zip(ENDPOINTS.iter().flat_map(|e| [e, e])) {
        assert_eq!(row["outcome"], "denied", "{row:#}");
        assert!(
            ["alice@example.com", "bob@example.com"].contains(&row["principal"].as_str().unwrap()),
            "{row:#}"
        );
        assert_eq!(row["principal_kind"], "user", "{row:#}");
        assert!(!row["principal_id"].is_null(), "{row:#}");
        assert_eq!(row["details"]["attempted"], *attempted, "{path}: {row:#}");
        assert!(
            row["reason"].as_str().unwrap().contains("admins"),
            "{row:#}"
        );
        assert!(!row["request_id"].is_null(), "{row:#}");
        assert_eq!(row["client_addr"], "127.0.0.1", "{row:#}");
    }

    // Without a token there is no one to name: 401 and no event.
    for (path, _) in ENDPOINTS {
        let resp = app.http.get(app.endpoint(path)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "GET {path} without a token");
    }
    assert_eq!(app.audit_rows_for("admin_denied").await.len(), 8);

    let admin = app.admin_audit_api().await;
    for (path, _) in ENDPOINTS {
        let resp = admin.get(path, &no_wait(path)).await;
        assert_eq!(
            resp.status(),
            200,
            "admin GET {path}: {}",
            resp.text().await.unwrap()
        );
    }
    let page = admin
        .page(&[
            ("action", "admin_denied".into()),
            ("principal", "alice@example.com".into()),
        ])
        .await;
    assert_eq!(
        page.events.len(),
        4,
        "the admin sees alice's refused attempts"
    );
}

/// One filter combination, the SQL condition that selects the same events, and a page size.
struct Case {
    query: Vec<(&'static str, String)>,
    sql: String,
    limit: usize,
}

fn case(query: &[(&'static str, &str)], sql: &str, limit: usize) -> Case {
    Case {
        query: query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        sql: sql.to_owned(),
        limit,
    }
}

fn assert_same_ids(what: &str, got: &[AuditEventView], want: &[String]) {
    let got_ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    if got_ids != want {
        let first_difference = got_ids
            .iter()
            .zip(want)
            .position(|(g, w)| g != w)
            .unwrap_or(got_ids.len().min(want.len()));
        panic!(
            "{what}: the API returned {} events, SQL finds {}; first difference at index \
             {first_difference}: API {:?}, SQL {:?}",
            got_ids.len(),
            want.len(),
            got.get(first_difference),
            want.get(first_difference),
        );
    }
    assert!(
        got.windows(2).all(|w| w[0].chain_seq > w[1].chain_seq),
        "{what}: not newest first by chain_seq"
    );
}

#[tokio::test]
async fn filters_and_pagination_return_exactly_the_events_a_plain_sql_query_finds() {
    let app = TestApp::spawn().await;
    let now = vault_server::clock::now().replace_nanosecond(0).unwrap();
    let day = time::Duration::days(1);
    let (t_from, t_to) = (now - 10 * day, now - 3 * day);
    let mut seeder = Seeder::new(2026, now, Duration::from_secs(30 * 86_400))
        .avoid(now - day)
        .avoid(now - 7 * day)
        .avoid(now - 14 * day)
        .avoid(t_from)
        .avoid(t_to);
    let events = seeder.events(3000);
    audit_seed::append(&app.db, &events).await.unwrap();
    // Real events too: a login and an issue and a denial through the API.
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    oauth.credentials(&alice, "dev").await;
    let denied = oauth
        .post_json(
            &alice,
            "/v1/credentials",
            &serde_json::json!({"profile": "ops"}),
        )
        .await;
    assert_eq!(denied.status(), 403);
    let api = app.admin_audit_api().await;

    let key = events
        .iter()
        .find_map(|e| e.access_key_id.clone())
        .expect("some seeded issue");
    let from = t_from.format(&Rfc3339).unwrap();
    let to = t_to.to_offset(offset!(+2)).format(&Rfc3339).unwrap();
    assert!(to.ends_with("+02:00"), "{to}");
    let cases = [
        case(&[("principal", "user07@example.com")], "principal = 'user07@example.com'", 9),
        case(&[("principal", "user1*@example.com")], "principal LIKE 'user1%@example.com'", 37),
        case(&[("principal", "ci_bot@*")], "principal = 'ci_bot@example.com'", 5),
        case(
            &[("principal", "user?3@example.com")],
            "principal IN ('user03@example.com', 'user13@example.com', 'user23@example.com', 'user33@example.com')",
            20,
        ),
        case(
            &[("action", "credentials_deny"), ("outcome", "denied")],
            "action = 'credentials_deny' AND outcome = 'denied'",
            11,
        ),
        case(&[("profile", "data_lake")], "profile = 'data_lake'", 6),
        case(&[("outcome", "failure")], "outcome = 'failure'", 13),
        case(
            &[("source", "2001:db8::17"), ("action", "credentials_issue")],
            "client_addr = '2001:db8::17' AND action = 'credentials_issue'",
            8,
        ),
        case(&[("access_key_id", &key)], &format!("access_key_id = '{key}'"), 1),
        case(&[("session_name", "user05")], "session_name = 'user05'", 4),
        case(
            &[("session_name", "gha-acme-app-1*")],
            "session_name LIKE 'gha-acme-app-1%'",
            3,
        ),
        case(
            &[("action", "refresh_token_reuse"), ("principal", "user2*")],
            "action = 'refresh_token_reuse' AND principal LIKE 'user2%'",
            1,
        ),
        case(&[("since", "24h")], "occurred_at >= now() - interval '24 hours'", 3),
        case(
            &[("since", "7d"), ("until", "24h"), ("principal", "*@example.com")],
            "occurred_at >= now() - interval '7 days' AND occurred_at < now() - interval '24 hours' \
             AND principal LIKE '%@example.com'",
            50,
        ),
        case(&[("until", "2w")], "occurred_at < now() - interval '14 days'", 100),
        case(
            &[("since", &from), ("until", &to), ("profile", "prod")],
            &format!("occurred_at >= '{from}' AND occurred_at < '{to}' AND profile = 'prod'"),
            7,
        ),
        case(
            &[
                ("principal", "user0*"),
                ("action", "credentials_issue"),
                ("profile", "dev"),
                ("outcome", "success"),
                ("since", "2w"),
            ],
            "principal LIKE 'user0%' AND action = 'credentials_issue' AND profile = 'dev' \
             AND outcome = 'success' AND occurred_at >= now() - interval '14 days'",
            2,
        ),
        case(
            &[("principal", "alice@example.com")],
            "principal = 'alice@example.com'",
            1,
        ),
        case(&[], "true", 1000),
    ];

    for (i, c) in cases.iter().enumerate() {
        let what = format!("case {i} {:?} limit {}", c.query, c.limit);
        // Every list call records an audit_query event; only events up to now can come back.
        let (head, _) = app.chain_head().await;
        let want = app
            .table_ids_newest_first(&format!("chain_seq <= {head} AND ({})", c.sql))
            .await;
        assert!(
            want.len() > c.limit || c.query.iter().any(|(k, _)| *k == "access_key_id"),
            "{what}: precondition: the seeded data should fill more than one page ({} events)",
            want.len()
        );
        let got = api.list_all(&c.query, c.limit).await;
        assert_same_ids(&what, &got, &want);
    }

    let none = api
        .list_all(&[("principal", "nobody@example.com".into())], 10)
        .await;
    assert!(none.is_empty(), "{none:#?}");

    // A window whose whole minutes hold no event (no time marks at all) answers an empty page,
    // with events on both sides of it: the minute after the oldest seeded event that is empty.
    let (since, until): (OffsetDateTime, OffsetDateTime) = sqlx::query_as(
        "SELECT m, m + interval '1 minute' FROM (
             SELECT date_trunc('minute', occurred_at) + interval '1 minute' AS m
             FROM audit_events ORDER BY chain_seq LIMIT 200) c
         WHERE NOT EXISTS (SELECT 1 FROM audit_events e
                           WHERE e.occurred_at >= c.m AND e.occurred_at < c.m + interval '1 minute')
         ORDER BY m LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("an empty minute among the seeded events");
    let around: (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE occurred_at < $1), count(*) FILTER (WHERE occurred_at >= $2)
         FROM audit_events",
    )
    .bind(since)
    .bind(until)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        around.0 > 0 && around.1 > 0,
        "events on both sides: {around:?}"
    );
    let window = [
        ("since", since.format(&Rfc3339).unwrap()),
        ("until", until.format(&Rfc3339).unwrap()),
    ];
    let empty = api.list_all(&window, 10).await;
    assert!(empty.is_empty(), "{window:?}: {empty:#?}");
}

#[tokio::test]
async fn bad_filters_and_limits_are_refused_with_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let api = app.admin_audit_api().await;
    for (query, names) in [
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "1001")], "limit"),
        (vec![("limit", "ten")], "limit"),
        (vec![("cursor", "x")], "cursor"),
        (vec![("since", "yesterday")], "since"),
        (vec![("until", "2024-05-01")], "until"),
        (vec![("outcome", "ok")], "outcome"),
    ] {
        let query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let resp = api.get("/v1/audit", &query).await;
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 400, "{query:?}: {body}");
        assert!(
            body.contains(names),
            "{query:?}: the error does not name {names}: {body}"
        );
    }
}

/// A statement Postgres keeps gets its generic plan after five runs, and for an audit filter that
/// plan cannot tell whether the principal or the time window is the narrow side (on 10M events it
/// intersects both indexes: 150 ms instead of under 1). So no filtered read may leave a prepared
/// statement behind on the connection it ran on.
#[tokio::test]
async fn filtered_audit_reads_are_planned_for_their_own_values_and_never_kept_as_prepared_statements(
) {
    use vault_server::audit::filter::{Filter, TextMatch};
    use vault_server::db::audit as audit_db;
    let app = TestApp::spawn().await;
    let mut conn = app.db.acquire().await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let filter = Filter {
        principal: Some(TextMatch::Exact("alice@example.com".into())),
        since: Some(now - time::Duration::days(7)),
        until: Some(now),
        ..Filter::default()
    };
    for _ in 0..7 {
        audit_db::list(&mut conn, &filter, None, 51).await.unwrap();
        audit_db::after(&mut *conn, &filter, 0, 51).await.unwrap();
    }
    // The probe itself is a plain query, so it is the only statement this check can add.
    let kept: Vec<String> = sqlx::query_scalar(
        "SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%FROM audit_events%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(
        kept.iter().all(|s| s.contains("pg_prepared_statements")),
        "filtered audit reads were kept as prepared statements: {kept:#?}"
    );
}
