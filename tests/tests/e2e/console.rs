//! `vault console` and `POST /v1/console` end to end: a real STS session from moto, exchanged at
//! the stand-in for the AWS federation endpoint (the real one is on the internet), the audited
//! `console_issue`, the landing page, refusals, the browser, and the endpoint down.

use serde_json::{json, Value};
use vault_e2e::federation::{sha256_hex, SignInUrl};
use vault_e2e::{Cli, TestApp};

/// The one `console_issue` row of this test (panics unless there is exactly one).
async fn the_console_issue(app: &TestApp) -> Value {
    let rows = app.audit_rows_for("console_issue").await;
    assert_eq!(rows.len(), 1, "expected one console_issue row: {rows:#?}");
    rows.into_iter().next().expect("one row")
}

/// `POST /v1/console` with `body` under `token`: the status and the answer's text.
async fn post_console(app: &TestApp, token: &str, body: Value) -> (u16, String) {
    let resp = app
        .http
        .post(app.endpoint("/v1/console"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("POST /v1/console");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("a body"))
}

/// The JSON error of a refused `POST /v1/console`, after checking its status.
async fn console_error(app: &TestApp, token: &str, body: Value, status: u16) -> Value {
    let (got, text) = post_console(app, token, body).await;
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).expect("a JSON error")
}

/// `vault console ARGS… --stdout` for alice, its URL taken apart.
async fn console_url(cli: &Cli, args: &[&str]) -> SignInUrl {
    let mut all = vec!["console"];
    all.extend_from_slice(args);
    all.push("--stdout");
    let out = cli.run(&all).await;
    out.assert_success(&all.join(" "));
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "stdout is not the URL alone:\n{out}"
    );
    SignInUrl::parse(&out.stdout)
}

#[tokio::test]
async fn console_stdout_prints_a_sign_in_url_the_standin_issued_for_a_real_audited_sts_session() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let url = console_url(&cli, &["dev"]).await;

    assert_eq!(url.endpoint, app.env.federation_url);
    assert_eq!(url.get("Action"), "login");
    assert_eq!(url.get("Issuer"), app.url);
    assert_eq!(
        url.get("Destination"),
        "https://console.aws.amazon.com/console/home?region=us-east-1"
    );
    let row = the_console_issue(&app).await;
    assert_eq!(row["outcome"], "success", "{row:#}");
    assert_eq!(row["principal"], "alice@example.com", "{row:#}");
    assert_eq!(row["profile"], "dev", "{row:#}");
    assert_eq!(row["role_arn"], app.role_arn("dev"), "{row:#}");
    assert_eq!(row["source_identity"], "alice@example.com", "{row:#}");
    assert_eq!(row["duration_seconds"], 3600, "{row:#}");
    assert_eq!(
        row["details"]["destination"],
        url.get("Destination"),
        "{row:#}"
    );
    let key_id = row["access_key_id"].as_str().expect("the session's key id");
    assert!(key_id.starts_with("ASIA"), "{row:#}");
    assert!(app.audit_rows_for("credentials_issue").await.is_empty());

    let asked = app.signin_token_requests(key_id).await;
    assert_eq!(asked.len(), 1, "{asked:#?}");
    let asked = &asked[0];
    assert_eq!(asked["status"], 200, "{asked:#}");
    assert_eq!(asked["signin_token"], url.get("SigninToken"), "{asked:#}");
    assert_eq!(asked["session_duration"], 3600, "{asked:#}");
    let session = app.moto_session(key_id).await;
    let secret = session["secret_access_key"].as_str().expect("secret");
    let token = session["session_token"].as_str().expect("token");
    assert_eq!(asked["session_key_sha256"], sha256_hex(secret), "{asked:#}");
    assert_eq!(
        asked["session_token_sha256"],
        sha256_hex(token),
        "{asked:#}"
    );
    assert_eq!(
        asked["caller_arn"],
        format!(
            "arn:aws:sts::{}:assumed-role/team-dev/alice@example.com",
            app.account_id
        )
    );
    app.assert_no_secret_in_audit(&[secret, token]).await;

    let landed = app
        .http
        .get(format!(
            "{}?{}",
            url.endpoint,
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&url.query)
                .finish()
        ))
        .send()
        .await
        .expect("the sign-in URL answers");
    assert_eq!(landed.status(), 200);
}

#[tokio::test]
async fn console_lands_on_the_service_or_destination_asked_for_and_refuses_one_off_the_console_domain(
) {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let s3 = console_url(
        &cli,
        &[
            "dev",
            "--service",
            "s3",
            "--region",
            "eu-west-1",
            "-d",
            "15m",
        ],
    )
    .await;
    assert_eq!(
        s3.get("Destination"),
        "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    );
    let lambda = "https://eu-west-1.console.aws.amazon.com/lambda/home#/functions";
    let own = console_url(&cli, &["dev", "--destination", lambda, "-d", "60s"]).await;
    assert_eq!(own.get("Destination"), lambda);
    let issued = app.audit_rows_for("console_issue").await;
    assert_eq!(issued.len(), 2, "{issued:#?}");
    // SessionDuration within its documented range (900 s to 12 h) only; a shorter session (moto's)
    // goes without it and the console session lasts as long as the credentials.
    for (row, duration) in issued.iter().zip([json!(900), Value::Null]) {
        let key_id = row["access_key_id"].as_str().expect("key id");
        let asked = app.signin_token_requests(key_id).await;
        assert_eq!(asked.len(), 1, "{asked:#?}");
        assert_eq!(asked[0]["session_duration"], duration, "{:#}", asked[0]);
    }

    let off = cli
        .run(&[
            "console",
            "dev",
            "--destination",
            "https://console.aws.amazon.com.evil.example/",
            "--stdout",
        ])
        .await;
    off.assert_failure("a destination off the console domain");
    assert!(off.stdout.is_empty(), "{off}");
    assert!(
        off.stderr
            .contains("Error: the destination must be an https URL on console.aws.amazon.com"),
        "{off}"
    );
    assert!(off.stderr.contains("\nhint: "), "{off}");
    let unknown = cli
        .run(&["console", "dev", "--service", "s4", "--stdout"])
        .await;
    unknown.assert_failure("an unknown service");
    assert!(
        unknown
            .stderr
            .contains("there is no console named `s4`; known: ")
            && unknown.stderr.contains("cloudwatch"),
        "{unknown}"
    );
    let denied = app.audit_rows_for("console_deny").await;
    let codes: Vec<&Value> = denied.iter().map(|r| &r["details"]["code"]).collect();
    assert_eq!(
        codes,
        [&json!("bad_destination"), &json!("unknown_service")],
        "{denied:#?}"
    );
    assert!(denied.iter().all(|r| r["profile"] == "dev"), "{denied:#?}");
    // The API answers the same codes, for clients that tell refusals apart.
    let token = app.oauth().login("alice").await.access_token;
    let body = console_error(
        &app,
        &token,
        json!({"profile": "dev", "region": "moon-1; drop"}),
        400,
    )
    .await;
    assert_eq!(body["error"], "bad_region", "{body}");
    assert_eq!(
        app.audit_rows_for("console_issue").await.len(),
        2,
        "a refused one was issued"
    );
}

#[tokio::test]
async fn console_for_a_denied_profile_is_a_403_with_a_hint_audited_and_never_reaches_the_standin() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli.run(&["console", "ops", "--stdout"]).await;
    out.assert_failure("vault console ops");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        out.stderr
            .contains("Error: alice@example.com may not assume `ops`"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("hint: `vault list` shows the profiles you may use"),
        "{out}"
    );

    let token = app.oauth().login("alice").await.access_token;
    let body = console_error(
        &app,
        &token,
        json!({"profile": "ops", "service": "s3"}),
        403,
    )
    .await;
    assert_eq!(body["error"], "not_allowed", "{body}");

    let denied = app.audit_rows_for("console_deny").await;
    assert_eq!(denied.len(), 2, "{denied:#?}");
    for row in &denied {
        assert_eq!(row["outcome"], "denied", "{row:#}");
        assert_eq!(row["profile"], "ops", "{row:#}");
        assert_eq!(row["principal"], "alice@example.com", "{row:#}");
        assert_eq!(row["details"]["code"], "not_allowed", "{row:#}");
    }
    assert!(app.audit_rows_for("console_issue").await.is_empty());
    assert!(
        !app.federation_saw_this_account().await,
        "the stand-in saw a session of this test's roles"
    );
}

#[tokio::test]
async fn console_without_stdout_hands_the_url_to_the_browser_command() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let browser = cli.home().join("browser.sh");
    let opened = cli.home().join("opened-url");
    std::fs::write(
        &browser,
        "#!/bin/sh\nprintf '%s' \"$1\" > \"$HOME/opened-url\"\n",
    )
    .expect("writing the browser script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    let out = cli
        .run_with_env(
            &["console", "dev"],
            &[("BROWSER", browser.to_str().expect("utf-8"))],
        )
        .await;
    out.assert_success("vault console dev (BROWSER set)");

    let text = std::fs::read_to_string(&opened).expect("the browser command got a URL");
    let url = SignInUrl::parse(&text);
    assert_eq!(url.get("Action"), "login");
    let row = the_console_issue(&app).await;
    let key_id = row["access_key_id"].as_str().expect("key id");
    let asked = app.signin_token_requests(key_id).await;
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert_eq!(asked[0]["signin_token"], url.get("SigninToken"));
    assert!(out.stdout.is_empty(), "the URL went to stdout too:\n{out}");
    assert!(!out.stderr.contains(url.get("SigninToken")), "{out}");
    assert!(
        out.stderr.contains("Opened the AWS console as `dev`"),
        "{out}"
    );
}

#[tokio::test]
async fn console_with_the_federation_endpoint_down_is_a_clear_502_and_nothing_issued_leaks() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let app = TestApp::builder()
        .federation_url(&format!("http://127.0.0.1:{closed}/federation"))
        .spawn()
        .await;
    let token = app.oauth().login("alice").await.access_token;

    let (status, text) = post_console(&app, &token, json!({"profile": "dev"})).await;
    assert_eq!(status, 502, "{text}");
    let body: Value = serde_json::from_str(&text).expect("a JSON error");
    assert_eq!(body["error"], "upstream_error", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "no console sign-in for `dev`: cannot reach the AWS federation endpoint at 127.0.0.1"
        ),
        "{body}"
    );

    let row = the_console_issue(&app).await;
    assert_eq!(row["outcome"], "failure", "{row:#}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("getSigninToken failed: "),
        "{row:#}"
    );
    let key_id = row["access_key_id"]
        .as_str()
        .expect("the STS session was issued");
    let session = app.moto_session(key_id).await;
    let secret = session["secret_access_key"].as_str().expect("secret");
    let session_token = session["session_token"].as_str().expect("token");
    for issued in [key_id, secret, session_token] {
        assert!(
            !text.contains(issued),
            "the 502 carries part of the session: {text}"
        );
    }
    assert!(
        !text.contains("SigninToken") && !text.contains("Session="),
        "{text}"
    );
    app.assert_no_secret_in_audit(&[secret, session_token])
        .await;

    let cli = app.cli();
    cli.login_browser("alice").await;
    let out = cli.run(&["console", "dev", "--stdout"]).await;
    out.assert_failure("vault console dev with the endpoint down");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        out.stderr.contains("Error: no console sign-in for `dev`"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("hint: the server could not get a sign-in token"),
        "{out}"
    );
}

#[tokio::test]
async fn a_ci_job_gets_no_console_sign_in_and_the_refusal_is_audited() {
    let (issuer, app) = vault_e2e::ci_issuer::spawn_ci_app().await;
    let access = app
        .ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();

    let body = console_error(&app, &access, json!({"profile": "deploy"}), 403).await;
    assert_eq!(body["error"], "console_for_people", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("vault exec"),
        "{body}"
    );
    let denied = app.audit_rows_for("console_deny").await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(
        denied[0]["details"]["code"], "console_for_people",
        "{:#}",
        denied[0]
    );
    assert!(app.audit_rows_for("console_issue").await.is_empty());
    assert!(
        !app.federation_saw_this_account().await,
        "the stand-in saw a session of this test's roles"
    );
}
