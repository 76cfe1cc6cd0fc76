//! `vault serve` beyond its defaults: IMDS with its session tokens' TTL, the refusal of IMDS
//! beyond loopback, a listener beyond loopback (warned of, token still required), and `-d`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use time::OffsetDateTime;
use vault_e2e::endpoints::{ecs_get, expiration};
use vault_e2e::{poll, TestApp};

const TTL: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN: &str = "x-aws-ec2-metadata-token";

#[tokio::test]
async fn vault_serve_ec2_serves_imds_whose_session_tokens_stop_working_after_their_ttl() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let served = cli.serve(&["serve", "dev", "--ec2"]).await;
    let base = served.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(served.docker.contains(&base), "{}", served.docker);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", base.trim_end_matches('/'));

    let answer = http
        .put(url("/latest/api/token"))
        .header(TTL, "1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[TTL], "1", "the TTL is echoed");
    let token = answer.text().await.unwrap();
    let role = || {
        http.get(url("/latest/meta-data/iam/security-credentials/dev"))
            .header(TOKEN, &token)
            .send()
    };
    let issued = Instant::now();
    let first = role().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let body: serde_json::Value = first.json().await.unwrap();
    assert_eq!(body["Code"], "Success", "{body}");

    let refused = poll::until("the token's expiry", Duration::from_secs(15), || async {
        let status = role().await.unwrap().status();
        (status != StatusCode::OK).then_some(status)
    })
    .await;
    assert_eq!(refused, StatusCode::UNAUTHORIZED);
    assert!(
        issued.elapsed() >= Duration::from_millis(900),
        "a token of TTL 1 s was refused after {:?}",
        issued.elapsed()
    );
    assert_eq!(served.stop().await.code(), Some(0));
}

#[tokio::test]
async fn vault_serve_refuses_imds_beyond_loopback_and_says_what_to_do_instead() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    let out = cli
        .run(&["serve", "dev", "--ec2", "--listen", "0.0.0.0:0"])
        .await;
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("Error: refusing to serve IMDS on 0.0.0.0:0"),
        "{out}"
    );
    assert!(out.stderr.contains("hint: listen on 127.0.0.1"), "{out}");
    assert!(!out.stdout.contains("export"), "{out}");
}

#[tokio::test]
async fn vault_serve_beyond_loopback_warns_and_still_requires_the_token() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let served = cli.serve(&["serve", "dev", "--listen", "0.0.0.0:0"]).await;
    let uri = served.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].clone();
    let token = served.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"].clone();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let http = reqwest::Client::new();

    let without = http.get(&uri).send().await.unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert_eq!(ecs_get(&http, &uri, "x").await.0, 403);
    assert_eq!(ecs_get(&http, &uri, &token).await.0, 200);

    let out = served.stop().await;
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        out.stderr
            .contains("warning: serving credentials beyond loopback on 0.0.0.0:0"),
        "{out}"
    );
}

#[tokio::test]
async fn vault_serve_with_a_duration_serves_sessions_of_that_length() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let served = cli.serve(&["serve", "dev", "-d", "20m"]).await;
    let uri = &served.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let token = &served.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    let (status, body) = ecs_get(&reqwest::Client::new(), uri, token).await;
    assert_eq!(status, 200, "{body}");
    let left = expiration(&body) - OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(18) && left <= time::Duration::minutes(20),
        "a 20-minute session has {left} left"
    );
    assert_eq!(served.stop().await.code(), Some(0));
}
