//! The endpoints' defences, from a process on the same machine: the token, the Host header
//! (DNS rebinding), browsers' requests, and IMDSv2's session token.

use reqwest::StatusCode;
use vault_e2e::endpoints::HeldChild;
use vault_e2e::TestApp;

/// A logged-in machine whose `vault exec dev FLAG` child is held open.
async fn held(flag: &str) -> (TestApp, HeldChild) {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let child = cli.exec_held(&["exec", "dev", flag], &[]).await;
    (app, child)
}

/// `http://127.0.0.1:PORT/rest` → (`127.0.0.1:PORT`, `/rest`).
fn split(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    (host.to_owned(), format!("/{path}"))
}

async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    let answer = request.send().await.expect("the endpoint answers");
    answer.json().await.expect("a JSON answer")
}

async fn code(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.expect("the endpoint answers").status()
}

#[tokio::test]
async fn the_ecs_endpoint_refuses_a_wrong_or_missing_token_a_rebinding_host_and_browsers() {
    let (_app, child) = held("--ecs-server").await;
    let uri = child.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").to_owned();
    let token = child.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").to_owned();
    let (host, path) = split(&uri);
    let port = host.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let ok = || http.get(&uri).header("Authorization", &token);

    let answer = ok().send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: serde_json::Value = answer.json().await.unwrap();
    for key in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(body[key].is_string(), "{key} missing: {body}");
    }
    assert_eq!(
        code(ok().header("Host", format!("localhost:{port}"))).await,
        StatusCode::OK
    );

    // The token with its last digit changed (appending a fixed `0` left it unchanged one time
    // in sixteen).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    assert_ne!(wrong, token);
    for (what, request) in [
        ("no token", http.get(&uri)),
        (
            "a wrong token",
            http.get(&uri).header("Authorization", wrong),
        ),
        (
            "a rebinding Host",
            ok().header("Host", format!("evil.example:{port}")),
        ),
        ("an Origin", ok().header("Origin", "http://evil.example")),
        (
            "a Referer",
            ok().header("Referer", "http://evil.example/page"),
        ),
        (
            "a browser",
            ok().header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"),
        ),
    ] {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{what}");
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
        assert!(
            !body.to_string().contains(&token),
            "{what}: the token echoed"
        );
    }
    let other = format!("http://{host}/{}", "0".repeat(64));
    assert_eq!(
        code(http.get(other).header("Authorization", &token)).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        code(http.post(&uri).header("Authorization", &token)).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert!(path.len() > 60, "{path}");
    child.release(0).await.assert_success("vault exec");
}

#[tokio::test]
async fn the_imds_endpoint_requires_a_session_token_and_refuses_a_rebinding_host_and_browsers() {
    let (_app, child) = held("--ec2-server").await;
    let base = child.var("AWS_EC2_METADATA_SERVICE_ENDPOINT").to_owned();
    let (host, _) = split(&base);
    let port = host.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", base.trim_end_matches('/'));
    let creds = url("/latest/meta-data/iam/security-credentials/");

    // IMDSv1: no session token, no answer.
    assert_eq!(code(http.get(&creds)).await, StatusCode::UNAUTHORIZED);
    let put = || http.put(url("/latest/api/token"));
    assert_eq!(code(put()).await, StatusCode::BAD_REQUEST, "no TTL");
    assert_eq!(
        code(put().header("X-aws-ec2-metadata-token-ttl-seconds", "21601")).await,
        StatusCode::BAD_REQUEST,
        "TTL out of range"
    );
    let session = put()
        .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let session = session.text().await.unwrap();
    let get = |u: &str| http.get(u).header("X-aws-ec2-metadata-token", &session);
    assert_eq!(
        code(
            http.get(&creds)
                .header("X-aws-ec2-metadata-token", "not-a-token")
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    let role = get(&creds).send().await.unwrap().text().await.unwrap();
    assert_eq!(role.trim(), "dev");
    let body = json(get(&format!("{creds}dev"))).await;
    assert_eq!(body["Code"], "Success", "{body}");
    for key in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(body[key].is_string(), "{key} missing: {body}");
    }
    let region = get(&url("/latest/meta-data/placement/region"))
        .send()
        .await
        .unwrap();
    assert_eq!(region.text().await.unwrap().trim(), "us-east-1");
    let document = json(get(&url("/latest/dynamic/instance-identity/document"))).await;
    assert_eq!(document["region"], "us-east-1", "{document}");

    for (what, request) in [
        (
            "a rebinding Host",
            get(&creds).header("Host", format!("evil.example:{port}")),
        ),
        (
            "an Origin",
            get(&creds).header("Origin", "http://evil.example"),
        ),
        (
            "a Referer",
            get(&creds).header("Referer", "http://evil.example/"),
        ),
        (
            "a browser",
            get(&creds).header("User-Agent", "Mozilla/5.0 Firefox/120"),
        ),
    ] {
        assert_eq!(code(request).await, StatusCode::FORBIDDEN, "{what}");
    }
    child.release(0).await.assert_success("vault exec");
}
