//! Refusals are audited, and small: every refused `POST /oauth/token` is one `oauth_refused`
//! event without the presented secret, over-long CI claims are refused naming the claim, and a
//! hung audit commit fails its request within the writer's bound instead of holding it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vault_api::{CLI_CLIENT_ID, GRANT_DEVICE_CODE};
use vault_e2e::ci_issuer::spawn_ci_app;
use vault_e2e::TestApp;

/// The events of `action`, oldest first, each with `json_bytes`, its size as JSON.
async fn events_of(app: &TestApp, action: &str) -> Vec<Value> {
    sqlx::query_scalar::<_, Value>(
        "SELECT row_to_json(a)::jsonb || jsonb_build_object('json_bytes', octet_length(row_to_json(a)::text))
           FROM audit_events a WHERE action = $1 ORDER BY seq",
    )
    .bind(action)
    .fetch_all(&app.db)
    .await
    .expect("reading audit_events")
}

/// Sends `form` to `/oauth/token`, expects `status` and `code`, and returns the one new
/// `oauth_refused` event it left, checked to be small and free of `secret`.
async fn refused(
    app: &TestApp,
    what: &str,
    form: &[(&str, &str)],
    status: u16,
    code: &str,
    secret: Option<&str>,
) -> Value {
    let before = events_of(app, "oauth_refused").await.len();
    let resp = app
        .oauth()
        .token_request(form)
        .await
        .expect("POST /oauth/token");
    assert_eq!(resp.status().as_u16(), status, "{what}");
    let body: Value = resp.json().await.expect("an OAuth error body");
    assert_eq!(body["error"], code, "{what}: {body}");
    let events = events_of(app, "oauth_refused").await;
    assert_eq!(
        events.len(),
        before + 1,
        "{what}: one new oauth_refused event"
    );
    let event = events.last().unwrap().clone();
    assert_eq!(event["details"]["code"], code, "{what}: {event:#}");
    assert_eq!(
        event["details"]["endpoint"], "/oauth/token",
        "{what}: {event:#}"
    );
    assert_eq!(event["outcome"], "denied", "{what}: {event:#}");
    let size = event["json_bytes"].as_i64().unwrap();
    assert!(size < 2048, "{what}: the event is {size} bytes");
    if let Some(secret) = secret {
        assert!(
            !event.to_string().contains(secret),
            "{what}: the secret is in {event:#}"
        );
        assert_eq!(
            event["details"]["presented_bytes"],
            secret.len(),
            "{what}: {event:#}"
        );
        let prefix = event["details"]["presented_sha256"]
            .as_str()
            .unwrap_or_default();
        assert!(
            prefix.len() == 12 && prefix.chars().all(|c| c.is_ascii_hexdigit()),
            "{what}: {event:#}"
        );
    }
    event
}

#[tokio::test]
async fn every_refused_token_request_is_one_small_oauth_refused_event_without_the_secret() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let redirect = vault_e2e::oauth::REDIRECT_URI;

    let event = refused(
        &app,
        "an unknown client",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "tvr_x"),
            ("client_id", "evil"),
        ],
        401,
        "invalid_client",
        None,
    )
    .await;
    assert_eq!(event["details"]["client_id"], "evil", "{event:#}");

    let junk_code = format!("tvc_{}", "c".repeat(40));
    refused(
        &app,
        "an unknown authorization code",
        &[
            ("grant_type", "authorization_code"),
            ("code", &junk_code),
            ("redirect_uri", redirect),
            ("code_verifier", &"v".repeat(43)),
            ("client_id", CLI_CLIENT_ID),
        ],
        400,
        "invalid_grant",
        Some(&junk_code),
    )
    .await;

    let code = oauth
        .authorize("alice")
        .await
        .expect("an authorization code");
    let first = oauth.exchange(&code).await.expect("the first redemption");
    assert_eq!(first.status(), 200);
    let replay = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", code.redirect_uri.as_str()),
        ("code_verifier", code.verifier.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    let event = refused(
        &app,
        "a replayed code",
        &replay,
        400,
        "invalid_grant",
        Some(&code.code),
    )
    .await;
    assert!(
        event["reason"].as_str().unwrap().contains("already used"),
        "{event:#}"
    );

    let junk_refresh = format!("tvr_{}", "r".repeat(43));
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", junk_refresh.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    refused(
        &app,
        "an unknown refresh token",
        &form,
        400,
        "invalid_grant",
        Some(&junk_refresh),
    )
    .await;

    let junk_device = format!("tvd_{}", "d".repeat(43));
    let form = [
        ("grant_type", GRANT_DEVICE_CODE),
        ("device_code", junk_device.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    refused(
        &app,
        "an unknown device code",
        &form,
        400,
        "invalid_grant",
        Some(&junk_device),
    )
    .await;

    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", CLI_CLIENT_ID),
    ];
    refused(&app, "a missing code", &form, 400, "invalid_request", None).await;

    let long_grant = "g".repeat(10_000);
    let form = [
        ("grant_type", long_grant.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    let event = refused(
        &app,
        "a 10 KB grant type",
        &form,
        400,
        "unsupported_grant_type",
        None,
    )
    .await;
    assert!(
        event["details"]["grant_type"].as_str().unwrap().len() <= 64,
        "{event:#}"
    );

    // A body that is not a form at all.
    let before = events_of(&app, "oauth_refused").await.len();
    let resp = app
        .http
        .post(app.endpoint("/oauth/token"))
        .header("content-type", "application/json")
        .body(format!("{{\"junk\": \"{}\"}}", "j".repeat(20_000)))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let events = events_of(&app, "oauth_refused").await;
    assert_eq!(events.len(), before + 1, "a malformed form is one event");
    assert!(events.last().unwrap()["json_bytes"].as_i64().unwrap() < 2048);
}

#[tokio::test]
async fn a_ci_token_with_an_over_long_claim_is_refused_naming_the_claim_and_audited() {
    let (issuer, app) = spawn_ci_app().await;
    for (claim, value) in [("ref", "r".repeat(600)), ("sub", "s".repeat(600))] {
        let token = issuer.mint(json!({ claim: value }));
        let before = events_of(&app, "ci_exchange").await.len();
        let ex = app.ci_exchange(&token).await;
        assert_eq!(ex.status, 401, "{}", ex.text);
        assert_eq!(ex.body["error"], "invalid_grant", "{}", ex.text);
        assert!(
            ex.description()
                .contains(&format!("`{claim}` claim is longer than 512 bytes")),
            "{}",
            ex.text
        );
        let events = events_of(&app, "ci_exchange").await;
        assert_eq!(events.len(), before + 1, "{claim}: one refusal event");
        let event = events.last().unwrap();
        assert_eq!(event["outcome"], "denied", "{event:#}");
        assert_eq!(
            event["details"]["subject_token_bytes"],
            token.len(),
            "{event:#}"
        );
        assert!(!event.to_string().contains(&value), "{event:#}");
    }
    assert_eq!(
        app.ci_session_count().await,
        0,
        "no session for a refused token"
    );
}

#[tokio::test]
async fn a_hung_audit_commit_fails_the_waiting_request_within_the_writer_bound_and_the_writer_goes_on(
) {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let token = oauth.login("alice").await.access_token;
    oauth.credentials(&token, "dev").await;

    // The chain head stays locked: the writer's commit cannot finish.
    let lock = app
        .hold_lock("SELECT 1 FROM audit_chain_head FOR UPDATE")
        .await;
    let started = Instant::now();
    let resp = oauth
        .post_json(&token, "/v1/credentials", &json!({"profile": "dev"}))
        .await;
    let waited = started.elapsed();
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 503, "{body}");
    assert!(!body.contains("AccessKeyId"), "{body}");
    // The writer's bound is 5 s: the request waited for it, and not much longer.
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(15),
        "answered after {waited:?}"
    );
    lock.release().await;

    oauth.credentials(&token, "dev").await;
}

#[tokio::test]
async fn an_unknown_client_at_the_device_endpoint_and_a_wrong_user_code_on_the_device_page_are_audited(
) {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .post(app.endpoint("/oauth/device"))
        .form(&[("client_id", "evil")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let events = events_of(&app, "oauth_refused").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["details"]["endpoint"], "/oauth/device");
    assert_eq!(events[0]["details"]["client_id"], "evil");

    // The device page, as a browser fills it in: its CSRF cookie, then a code nobody issued.
    let page = app.http.get(app.endpoint("/device")).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let csrf_pair = cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_pair.split_once('=').unwrap().1.to_owned();
    let guess = "BCDF-GHJK";
    let resp = app
        .http
        .post(app.endpoint("/device"))
        .header("cookie", &csrf_pair)
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", guess),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(page.contains("not valid or has expired"), "{page}");
    let events = events_of(&app, "oauth_refused").await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let event = &events[1];
    assert_eq!(event["details"]["endpoint"], "/device", "{event:#}");
    assert_eq!(
        event["details"]["presented_bytes"],
        guess.len(),
        "{event:#}"
    );
    assert!(!event.to_string().contains(guess), "{event:#}");
}
