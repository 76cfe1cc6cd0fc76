//! Rate limits: per client address without a valid bearer token, per principal with one; 429
//! with `Retry-After` and a JSON body; refusals summed into `rate_limited` audit events; the
//! client address taken from forwarding headers only behind a trusted proxy. Every address of
//! 127.0.0.0/8 is loopback here, so `127.0.0.2` and `127.0.0.3` are distinct real sources.

use std::{net::IpAddr, time::Duration};

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use vault_api::{ErrorBody, OAuthErrorBody};
use vault_e2e::{poll, TestApp};

/// An HTTP client whose connections come from `ip`.
fn client_from(ip: &str) -> Client {
    Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("an address"))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// `POST /oauth/token` with a refresh token that does not exist (a 400 when not limited).
async fn junk_refresh(app: &TestApp, http: &Client, forwarded_for: Option<&str>) -> Response {
    let mut req = http.post(app.endpoint("/oauth/token")).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "tvr_no-such-token"),
        ("client_id", vault_api::CLI_CLIENT_ID),
    ]);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("POST /oauth/token")
}

/// `Retry-After` of a 429, in seconds, checked to be within the limit's period.
fn retry_after(resp: &Response, max: u64) -> u64 {
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After: {:?}", resp.headers()));
    assert!((1..=max).contains(&secs), "Retry-After {secs}");
    secs
}

/// The `rate_limited` rows whose `client_addr` is `addr`.
async fn summaries_for(app: &TestApp, addr: &str) -> Vec<Value> {
    app.audit_rows_for("rate_limited")
        .await
        .into_iter()
        .filter(|r| r["client_addr"] == addr)
        .collect()
}

/// A time the summary wrote (RFC 3339).
fn at(value: &Value) -> time::OffsetDateTime {
    let text = value.as_str().expect("a time");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn count(row: &Value) -> u64 {
    row["details"]["count"].as_u64().expect("a count")
}

#[tokio::test]
async fn an_address_over_its_limit_on_the_token_endpoint_gets_429_with_retry_after_and_other_addresses_do_not(
) {
    let app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 3 }")
        .spawn()
        .await;
    let flooder = client_from("127.0.0.2");
    for _ in 0..3 {
        let resp = junk_refresh(&app, &flooder, None).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "within the burst");
    }
    for _ in 0..2 {
        let resp = junk_refresh(&app, &flooder, None).await;
        retry_after(&resp, 60);
        let body: OAuthErrorBody = resp.json().await.expect("an OAuth error body");
        assert_eq!(body.error, "rate_limited");
        assert!(
            body.error_description
                .as_deref()
                .is_some_and(|d| d.contains("too many requests")),
            "{body:?}"
        );
    }
    // Another address is not limited by the first one's flood; health checks never are.
    let other = junk_refresh(&app, &client_from("127.0.0.3"), None).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    let health = flooder.get(app.endpoint("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // A browser landing on a limited page gets a page, with the same Retry-After.
    let page = flooder.get(app.endpoint("/device")).send().await.unwrap();
    retry_after(&page, 60);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<html") && html.contains("too many requests"),
        "{html}"
    );
}

#[tokio::test]
async fn a_request_with_an_invalid_bearer_token_counts_against_its_address() {
    let app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 3 }")
        .spawn()
        .await;
    let junk = |http: Client| {
        let url = app.endpoint("/v1/credentials");
        async move {
            http.post(url)
                .bearer_auth("not-a-token")
                .json(&serde_json::json!({"profile": "dev"}))
                .send()
                .await
                .expect("POST /v1/credentials")
        }
    };
    let flooder = client_from("127.0.0.2");
    for _ in 0..3 {
        assert_eq!(
            junk(flooder.clone()).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = junk(flooder.clone()).await;
    retry_after(&limited, 60);
    let body: ErrorBody = limited.json().await.expect("an API error body");
    assert_eq!(body.error, "rate_limited");
    assert!(body.message.contains("from your address"), "{body:?}");
    let other = junk(client_from("127.0.0.3")).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_flood_of_requests_for_api_paths_that_do_not_exist_is_limited_by_address() {
    let app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 3 }")
        .spawn()
        .await;
    let missing = |http: Client| {
        let url = app.endpoint("/v1/no-such-endpoint");
        async move {
            http.get(url)
                .send()
                .await
                .expect("GET /v1/no-such-endpoint")
        }
    };
    let flooder = client_from("127.0.0.2");
    for _ in 0..3 {
        assert_eq!(
            missing(flooder.clone()).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    let limited = missing(flooder.clone()).await;
    retry_after(&limited, 60);
    let body: ErrorBody = limited.json().await.expect("an API error body");
    assert_eq!(body.error, "rate_limited");
    let other = missing(client_from("127.0.0.3")).await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_user_over_the_principal_limit_is_refused_while_another_user_from_the_same_address_is_served(
) {
    let app = TestApp::builder()
        .limits("authenticated = { per_minute = 1, burst = 3 }")
        .spawn()
        .await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let bob = oauth.login("bob").await.access_token;
    for _ in 0..3 {
        oauth.credentials(&alice, "dev").await;
    }
    let body = serde_json::json!({ "profile": "dev" });
    let limited = oauth.post_json(&alice, "/v1/credentials", &body).await;
    retry_after(&limited, 60);
    let refusal: ErrorBody = limited.json().await.expect("an API error body");
    assert_eq!(refusal.error, "rate_limited");
    assert!(refusal.message.contains("for your identity"), "{refusal:?}");
    // Bob shares alice's address (127.0.0.1) and is served.
    oauth.credentials(&bob, "dev").await;
    let issued = app.audit_rows_for("credentials_issue").await;
    assert_eq!(issued.len(), 4, "three for alice, one for bob: {issued:#?}");
}

#[tokio::test]
async fn refusals_over_the_limit_are_summed_into_one_rate_limited_event_per_source_with_the_count_and_kinds(
) {
    let mut app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 2 }\nsummary_interval = \"1h\"")
        .spawn()
        .await;
    let a = client_from("127.0.0.2");
    let b = client_from("127.0.0.3");
    for _ in 0..2 {
        assert_ne!(junk_refresh(&app, &a, None).await.status(), 429);
        assert_ne!(junk_refresh(&app, &b, None).await.status(), 429);
    }
    for _ in 0..5 {
        assert_eq!(junk_refresh(&app, &a, None).await.status(), 429);
    }
    for _ in 0..2 {
        let page = a.get(app.endpoint("/device")).send().await.unwrap();
        assert_eq!(page.status(), 429);
    }
    let device = b
        .post(app.endpoint("/oauth/device"))
        .form(&[("client_id", vault_api::CLI_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(device.status(), 429);
    assert!(
        app.audit_rows_for("rate_limited").await.is_empty(),
        "refusals are summed, not written one by one"
    );

    // The interval is an hour: stopping the server writes what it counted.
    app.stop_server().await;
    let rows = app.audit_rows_for("rate_limited").await;
    assert_eq!(rows.len(), 2, "one event per source: {rows:#?}");
    let of_a = &summaries_for(&app, "127.0.0.2").await[0];
    assert_eq!(of_a["outcome"], "denied");
    assert_eq!(count(of_a), 7);
    assert_eq!(of_a["details"]["limit"], "address");
    assert_eq!(
        of_a["details"]["kinds"],
        serde_json::json!({"POST /oauth/token": 5, "GET /device": 2})
    );
    let of_b = &summaries_for(&app, "127.0.0.3").await[0];
    assert_eq!(count(of_b), 1);
    assert_eq!(
        of_b["details"]["kinds"],
        serde_json::json!({"POST /oauth/device": 1})
    );
}

#[tokio::test]
async fn while_the_server_runs_each_interval_writes_the_refusals_counted_in_it() {
    let app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 1 }\nsummary_interval = \"1s\"")
        .spawn()
        .await;
    let a = client_from("127.0.0.2");
    assert_ne!(junk_refresh(&app, &a, None).await.status(), 429);
    let mut refused = 0;
    for round in 0..2 {
        for _ in 0..3 {
            assert_eq!(junk_refresh(&app, &a, None).await.status(), 429);
            refused += 1;
        }
        let rows = poll::until(
            &format!("the rate_limited events of round {round}"),
            Duration::from_secs(15),
            || async {
                let rows = summaries_for(&app, "127.0.0.2").await;
                (rows.iter().map(count).sum::<u64>() == refused).then_some(rows)
            },
        )
        .await;
        // One event per interval: the windows of successive events never overlap.
        for pair in rows.windows(2) {
            let (earlier, later) = (&pair[0]["details"], &pair[1]["details"]);
            assert!(
                at(&earlier["last"]) <= at(&later["first"]),
                "{earlier} / {later}"
            );
        }
        assert!(
            rows.len() > round,
            "a later round is a later event: {rows:#?}"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_x_forwarded_for_decides_the_audited_address_and_the_limited_source()
{
    let mut app = TestApp::builder()
        .extra_toml("trusted_proxies = [\"127.0.0.1/32\"]")
        .limits("unauthenticated = { per_minute = 1, burst = 5 }\nsummary_interval = \"1h\"")
        .spawn()
        .await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let proxy = client_from("127.0.0.1");
    let untrusted = client_from("127.0.0.3");

    // The audited address is the forwarded one when the peer is the proxy, the peer otherwise.
    for (http, xff) in [(&proxy, "198.51.100.4"), (&untrusted, "198.51.100.5")] {
        let resp = http
            .post(app.endpoint("/v1/credentials"))
            .bearer_auth(&alice)
            .header("x-forwarded-for", xff)
            .json(&serde_json::json!({"profile": "dev"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let issued: Vec<Value> = app
        .audit_rows_for("credentials_issue")
        .await
        .into_iter()
        .map(|r| r["client_addr"].clone())
        .collect();
    assert_eq!(issued, ["198.51.100.4", "127.0.0.3"]);

    // Through the proxy, each forwarded client has its own budget.
    for _ in 0..5 {
        let resp = junk_refresh(&app, &proxy, Some("203.0.113.7")).await;
        assert_eq!(resp.status(), 400);
    }
    retry_after(&junk_refresh(&app, &proxy, Some("203.0.113.7")).await, 60);
    let other = junk_refresh(&app, &proxy, Some("203.0.113.8")).await;
    assert_eq!(
        other.status(),
        400,
        "another forwarded client is not limited"
    );

    // From an untrusted peer the header is ignored: a new claimed address each time is no escape.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let xff = format!("203.0.113.{}", 100 + i);
        statuses.push(
            junk_refresh(&app, &untrusted, Some(&xff))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [400, 400, 400, 400, 400, 429]);

    app.stop_server().await;
    assert_eq!(count(&summaries_for(&app, "203.0.113.7").await[0]), 1);
    assert_eq!(count(&summaries_for(&app, "127.0.0.3").await[0]), 1);
    assert!(summaries_for(&app, "203.0.113.105").await.is_empty());
}

#[tokio::test]
async fn summaries_the_trail_refused_while_postgres_was_unreachable_are_written_once_it_is_back() {
    let app = TestApp::builder()
        .limits("unauthenticated = { per_minute = 1, burst = 1 }\nsummary_interval = \"1s\"")
        .spawn()
        .await;
    app.make_database_unreachable().await;
    let a = client_from("127.0.0.2");
    assert_ne!(junk_refresh(&app, &a, None).await.status(), 429);
    for _ in 0..3 {
        assert_eq!(junk_refresh(&app, &a, None).await.status(), 429);
    }
    poll::until(
        "a summary write to fail while Postgres is unreachable",
        Duration::from_secs(30),
        || async {
            vault_e2e::logs::captured()
                .contains("rate_limited summary events not written yet")
                .then_some(())
        },
    )
    .await;
    app.restore_database().await;
    let rows = poll::until(
        "the kept summary to be written",
        Duration::from_secs(30),
        || async {
            let rows = summaries_for(&app, "127.0.0.2").await;
            (!rows.is_empty()).then_some(rows)
        },
    )
    .await;
    assert_eq!(rows.iter().map(count).sum::<u64>(), 3, "{rows:#?}");
}
