//! A login is bound to the browser that started it: the phishing attack of issue 11 (a device
//! confirm link, or a browser login link, passed to a colleague) is refused at the callback,
//! and the device confirm page shows who asked, with Approve and Deny.

use serde_json::Value;
use vault_e2e::browser::{idp_login, poll_device, start_device, Browser};
use vault_e2e::oauth::{pkce_challenge, random_b64, REDIRECT_URI};
use vault_e2e::TestApp;

/// The attacker's device polls from a client with this user agent.
const ATTACKER_UA: &str = "attacker-device/1.0";

#[tokio::test]
async fn a_device_link_passed_to_a_colleague_is_refused_in_their_browser_and_the_device_gets_nothing(
) {
    let app = TestApp::spawn().await;
    // The attacker starts a device login and passes the confirm page in their own browser.
    let device = start_device(&app.url, ATTACKER_UA).await;
    let attacker = Browser::new(&app.url);
    let idp_url = attacker.approve_device(&device.user_code).await;

    // They send the IdP link to bob, who logs in there; his browser never saw the confirm page.
    let callback = idp_login("bob", &idp_url)
        .await
        .expect("bob logs in at the IdP");
    let bob = Browser::new(&app.url);
    let refused = bob.get(&callback).await;

    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(
        refused.html.contains("started in another browser")
            && refused.html.contains("start again from your own terminal"),
        "{}",
        refused.html
    );
    let events = app.audit_rows_for("login_refused").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["outcome"], "denied");
    assert!(
        event["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("browser_mismatch"),
        "{event:#}"
    );
    assert_eq!(
        event["principal"],
        Value::Null,
        "nobody is named: {event:#}"
    );
    assert_eq!(event["details"]["cookie"], "missing", "{event:#}");
    assert_eq!(event["user_agent"], "test-browser", "{event:#}");
    assert_eq!(event["client_addr"], "127.0.0.1", "{event:#}");
    assert!(app.audit_rows_for("device_approve").await.is_empty());

    // The refused callback used the pending login up: the attacker cannot replay bob's callback
    // in the browser that holds the cookie, and their device never gets tokens.
    let replay = attacker.get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.html);
    assert!(replay.html.contains("already used"), "{}", replay.html);
    let (status, body) = poll_device(&app.url, &device.device_code, ATTACKER_UA).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "authorization_pending", "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(app.audit_rows_for("device_redeem").await.is_empty());
}

#[tokio::test]
async fn a_device_approved_in_the_browser_that_confirmed_it_gets_its_tokens_and_the_redemption_is_audited(
) {
    let app = TestApp::spawn().await;
    let device = start_device(&app.url, "vault-cli/test").await;
    let browser = Browser::new(&app.url);
    let idp_url = browser.approve_device(&device.user_code).await;
    let callback = idp_login("alice", &idp_url).await.expect("alice logs in");

    let approved = browser.get(&callback).await;

    assert_eq!(approved.status, 200, "{}", approved.html);
    assert!(
        approved.html.contains("Device approved"),
        "{}",
        approved.html
    );
    let (status, body) = poll_device(&app.url, &device.device_code, "vault-cli/poller").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    let redeemed = app.audit_rows_for("device_redeem").await;
    assert_eq!(redeemed.len(), 1, "{redeemed:#?}");
    let event = &redeemed[0];
    assert_eq!(event["principal"], "alice@example.com", "{event:#}");
    assert_eq!(
        event["user_agent"], "vault-cli/poller",
        "the polling client: {event:#}"
    );
    let approve = app.audit_rows_for("device_approve").await;
    assert_eq!(
        event["details"]["session_id"], approve[0]["details"]["session_id"],
        "{event:#}"
    );
    assert!(app.audit_rows_for("login_refused").await.is_empty());
}

#[tokio::test]
async fn a_browser_login_finished_in_another_browser_is_refused_and_audited() {
    let app = TestApp::spawn().await;
    let starter = Browser::new(&app.url);
    let verifier = random_b64(32);
    let authorize =
        app.oauth()
            .authorize_url(&pkce_challenge(&verifier), "client-state", REDIRECT_URI);
    let sent = starter.get(authorize.as_str()).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let cookie = sent.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("vault_login=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age="),
        "{cookie}"
    );
    let callback = idp_login("bob", &sent.location().unwrap())
        .await
        .expect("bob logs in at the IdP");

    // Another browser, carrying a binding cookie of its own from a login it started itself.
    let other = Browser::new(&app.url);
    let own = other.get(authorize.as_str()).await;
    assert_eq!(own.status, 303);
    let refused = other.get(&callback).await;

    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.location().is_none(), "no code goes to a loopback");
    let events = app.audit_rows_for("login_refused").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["details"]["flow"], "browser");
    assert_eq!(events[0]["details"]["cookie"], "other");
    assert!(app.audit_rows_for("login").await.is_empty());
}

#[tokio::test]
async fn the_device_confirm_page_shows_who_asked_and_deny_ends_the_authorization() {
    let app = TestApp::spawn().await;
    let device = start_device(&app.url, "<b>curl</b>/8 \"quoted\"").await;
    let browser = Browser::new(&app.url);

    let review = browser
        .get(&format!("/device?user_code={}", device.user_code))
        .await;

    assert_eq!(review.status, 200, "{}", review.html);
    assert!(review.html.contains("127.0.0.1"), "{}", review.html);
    assert!(
        review
            .html
            .contains("&lt;b&gt;curl&lt;/b&gt;/8 &quot;quoted&quot;"),
        "the user agent, escaped: {}",
        review.html
    );
    assert!(!review.html.contains("<b>curl"), "{}", review.html);
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(review.html.contains("Requested at") && review.html.contains(&year));
    assert!(review.html.contains("Approve") && review.html.contains("Deny"));

    let csrf = review.hidden("csrf").unwrap();
    let denied = browser
        .post_device(&[
            ("csrf", &csrf),
            ("user_code", &device.user_code),
            ("confirm", "no"),
        ])
        .await;

    assert_eq!(denied.status, 200, "{}", denied.html);
    assert!(denied.html.contains("not logged in"), "{}", denied.html);
    let (status, body) = poll_device(&app.url, &device.device_code, "vault-cli/test").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "access_denied", "{body}");
    let events = app.audit_rows_for("device_deny").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["outcome"], "denied");
    assert_eq!(events[0]["details"]["requested_by"], "127.0.0.1");
    // A denied code cannot be approved afterwards.
    let again = browser
        .post_device(&[
            ("csrf", &csrf),
            ("user_code", &device.user_code),
            ("confirm", "yes"),
        ])
        .await;
    assert_eq!(again.status, 400, "{}", again.html);
}

#[tokio::test]
async fn the_device_page_refuses_a_post_without_its_csrf_cookie_or_with_another_browsers_token() {
    let app = TestApp::spawn().await;
    let device = start_device(&app.url, "vault-cli/test").await;
    let mine = Browser::new(&app.url);
    let theirs = Browser::new(&app.url);
    let link = format!("/device?user_code={}", device.user_code);
    let their_token = theirs.get(&link).await.hidden("csrf").unwrap();
    let my_token = mine.get(&link).await.hidden("csrf").unwrap();

    // No cookie at all (a plain client posting the form from elsewhere).
    let no_cookie = Browser::new(&app.url)
        .post_device(&[
            ("csrf", &my_token),
            ("user_code", &device.user_code),
            ("confirm", "yes"),
        ])
        .await;
    // My cookie, but the token of another browser's page.
    let other_token = mine
        .post_device(&[
            ("csrf", &their_token),
            ("user_code", &device.user_code),
            ("confirm", "yes"),
        ])
        .await;

    for refused in [&no_cookie, &other_token] {
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(refused.location().is_none());
        assert!(
            refused.html.contains("did not come from the device page"),
            "{}",
            refused.html
        );
    }
    let logins: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_logins")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(logins, 0, "no login went on to the IdP");
    // The same browser's own token passes.
    let approved = mine
        .post_device(&[
            ("csrf", &my_token),
            ("user_code", &device.user_code),
            ("confirm", "yes"),
        ])
        .await;
    assert_eq!(approved.status, 303, "{}", approved.html);
}

#[tokio::test]
async fn user_codes_tried_past_the_limit_get_a_readable_429_page_and_are_summed_in_the_trail() {
    let mut app = TestApp::builder()
        .limits(
            "unauthenticated = { per_minute = 600000, burst = 100000 }\n\
             summary_interval = \"1h\"\n\
             user_codes = { per_address = { per_minute = 1, burst = 3 }, total = { per_minute = 600000, burst = 100000 } }\n",
        )
        .spawn()
        .await;
    let device = start_device(&app.url, "vault-cli/test").await;
    let guesser = Browser::new(&app.url);
    for guess in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD"] {
        let page = guesser.get(&format!("/device?user_code={guess}")).await;
        assert_eq!(page.status, 400, "{}", page.html);
    }
    assert_eq!(app.audit_rows_for("oauth_refused").await.len(), 3);

    // Over the limit even the right code is refused: guessing learns nothing more.
    let limited = guesser
        .get(&format!("/device?user_code={}", device.user_code))
        .await;

    assert_eq!(limited.status, 429, "{}", limited.html);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        limited.html.contains("<html") && limited.html.contains("too many device codes"),
        "{}",
        limited.html
    );
    assert!(!limited.html.contains("Approve"), "{}", limited.html);
    assert_eq!(
        app.audit_rows_for("oauth_refused").await.len(),
        3,
        "over the limit, refusals are summed, not written one by one"
    );
    app.stop_server().await;
    let summed = app.audit_rows_for("rate_limited").await;
    assert_eq!(summed.len(), 1, "{summed:#?}");
    assert_eq!(summed[0]["details"]["count"], 1, "{:#}", summed[0]);
    assert_eq!(
        summed[0]["details"]["kinds"]["GET /device (user codes)"], 1,
        "{:#}",
        summed[0]
    );
}

#[tokio::test]
async fn polling_too_fast_raises_the_device_interval_by_five_seconds_each_time() {
    let app = TestApp::spawn().await;
    let device = start_device(&app.url, "vault-cli/test").await;
    let interval = || async {
        sqlx::query_scalar::<_, i32>("SELECT interval_seconds FROM device_authorizations")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    // A long interval, so that the polls below are surely sooner than it on any machine.
    sqlx::query("UPDATE device_authorizations SET interval_seconds = 30")
        .execute(&app.db)
        .await
        .unwrap();
    let first = interval().await;

    let (_, pending) = poll_device(&app.url, &device.device_code, "cli").await;
    assert_eq!(pending["error"], "authorization_pending", "{pending}");
    let (_, slow) = poll_device(&app.url, &device.device_code, "cli").await;
    assert_eq!(slow["error"], "slow_down", "{slow}");
    assert_eq!(interval().await, first + 5);
    let (_, slower) = poll_device(&app.url, &device.device_code, "cli").await;
    assert_eq!(slower["error"], "slow_down", "{slower}");
    assert_eq!(interval().await, first + 10);
}
