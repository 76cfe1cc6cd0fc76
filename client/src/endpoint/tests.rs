//! The endpoints through a real loopback socket, as the SDKs reach them.
#![cfg(unix)]

use reqwest::StatusCode;

use super::*;
use crate::credentials::cache::test_credentials;

/// Never answers: these tests serve the first session only.
struct Never;

impl Fetch for Never {
    fn fetch(&self) -> Fetched<'_> {
        Box::pin(std::future::pending())
    }
}

async fn start(kind: Kind, expiration: &str) -> Endpoint {
    let mut first = test_credentials("dev", expiration);
    first.account_id = Some("123456789012".into());
    let listen = "127.0.0.1:0".parse().unwrap();
    launch(kind, listen, "dev", "eu-west-1", &first, Never)
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn body(response: reqwest::Response) -> serde_json::Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_ecs_endpoint_answers_the_session_to_its_token_on_its_path() {
    let endpoint = start(Kind::Ecs, "2099-01-01T00:00:00Z").await;
    let token = endpoint.token.clone().unwrap();
    assert_eq!(token.len(), 64);
    assert!(endpoint
        .url
        .starts_with(&format!("http://127.0.0.1:{}/", endpoint.addr.port())));
    assert_eq!(endpoint.url.rsplit('/').next().unwrap().len(), 64);
    let response = client()
        .get(&endpoint.url)
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        body(response).await,
        serde_json::json!({"AccessKeyId": "ASIATEST", "SecretAccessKey": "secret",
            "Token": "token", "Expiration": "2099-01-01T00:00:00Z"})
    );
    endpoint.stop().await;
}

#[tokio::test]
async fn the_ecs_endpoint_refuses_a_wrong_or_missing_token() {
    let endpoint = start(Kind::Ecs, "2099-01-01T00:00:00Z").await;
    let wrong = client()
        .get(&endpoint.url)
        .header("authorization", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(wrong).await["code"], "forbidden");
    let missing = client().get(&endpoint.url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_ecs_endpoint_answers_404_elsewhere_and_405_to_other_methods() {
    let endpoint = start(Kind::Ecs, "2099-01-01T00:00:00Z").await;
    let token = endpoint.token.clone().unwrap();
    let other = format!("http://{}/latest/credentials", endpoint.addr);
    let elsewhere = client()
        .get(other)
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(elsewhere).await["code"], "not_found");
    let post = client()
        .post(&endpoint.url)
        .header("authorization", &token)
        .body("x".repeat(4096))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_ecs_endpoint_refuses_a_rebinding_host_a_web_page_and_a_browser() {
    let endpoint = start(Kind::Ecs, "2099-01-01T00:00:00Z").await;
    let token = endpoint.token.clone().unwrap();
    let port = endpoint.addr.port();
    let localhost = client()
        .get(&endpoint.url)
        .header("authorization", &token)
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(localhost.status(), StatusCode::OK);
    for (name, value) in [
        ("host", format!("rebind.example:{port}")),
        ("origin", "http://evil.example".to_owned()),
        ("referer", "http://evil.example/".to_owned()),
        ("user-agent", "Mozilla/5.0 (Macintosh)".to_owned()),
    ] {
        let refused = client()
            .get(&endpoint.url)
            .header("authorization", &token)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{name}");
    }
}

#[tokio::test]
async fn an_expired_session_is_answered_503_expired() {
    let endpoint = start(Kind::Ecs, "2001-01-01T00:00:00Z").await;
    let response = client()
        .get(&endpoint.url)
        .header("authorization", endpoint.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(response).await["code"], "expired");
}

async fn imds_token(endpoint: &Endpoint, ttl: &str) -> reqwest::Response {
    client()
        .put(format!("{}latest/api/token", endpoint.url))
        .header("x-aws-ec2-metadata-token-ttl-seconds", ttl)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn imds_answers_only_with_a_session_token_of_a_valid_ttl() {
    let endpoint = start(Kind::Ec2, "2099-01-01T00:00:00Z").await;
    assert!(endpoint.token.is_none());
    assert_eq!(
        endpoint.url,
        format!("http://127.0.0.1:{}/", endpoint.addr.port())
    );
    for ttl in ["0", "21601", "soon"] {
        assert_eq!(
            imds_token(&endpoint, ttl).await.status(),
            StatusCode::BAD_REQUEST,
            "{ttl}"
        );
    }
    let no_ttl = client()
        .put(format!("{}latest/api/token", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(no_ttl.status(), StatusCode::BAD_REQUEST);
    let roles = format!("{}latest/meta-data/iam/security-credentials/", endpoint.url);
    let v1 = client().get(&roles).send().await.unwrap();
    assert_eq!(v1.status(), StatusCode::UNAUTHORIZED, "no IMDSv1");
    let made_up = client()
        .get(&roles)
        .header("x-aws-ec2-metadata-token", "made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(made_up.status(), StatusCode::UNAUTHORIZED);
    let issued = imds_token(&endpoint, "21600").await;
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(
        issued.headers()["x-aws-ec2-metadata-token-ttl-seconds"],
        "21600"
    );
    let token = issued.text().await.unwrap();
    let listed = client()
        .get(&roles)
        .header("x-aws-ec2-metadata-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.text().await.unwrap(), "dev");
}

#[tokio::test]
async fn imds_serves_the_role_credentials_identity_document_and_region() {
    let endpoint = start(Kind::Ec2, "2099-01-01T00:00:00Z").await;
    let token = imds_token(&endpoint, "60").await.text().await.unwrap();
    let get = |path: &str| {
        client()
            .get(format!("{}{path}", endpoint.url))
            .header("x-aws-ec2-metadata-token", &token)
            .send()
    };
    let creds = get("latest/meta-data/iam/security-credentials/dev")
        .await
        .unwrap();
    assert_eq!(creds.status(), StatusCode::OK);
    let creds = body(creds).await;
    assert_eq!(creds["Code"], "Success");
    assert_eq!(creds["Type"], "AWS-HMAC");
    assert_eq!(creds["AccessKeyId"], "ASIATEST");
    assert_eq!(creds["SecretAccessKey"], "secret");
    assert_eq!(creds["Token"], "token");
    assert_eq!(creds["Expiration"], "2099-01-01T00:00:00Z");
    let other = get("latest/meta-data/iam/security-credentials/prod")
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let identity = body(
        get("latest/dynamic/instance-identity/document")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(identity["region"], "eu-west-1");
    assert_eq!(identity["availabilityZone"], "eu-west-1a");
    assert_eq!(identity["accountId"], "123456789012");
    assert!(identity["instanceId"].as_str().unwrap().starts_with("i-"));
    let region = get("latest/meta-data/placement/region").await.unwrap();
    assert_eq!(region.text().await.unwrap(), "eu-west-1");
    let browser = client()
        .get(format!("{}latest/meta-data/placement/region", endpoint.url))
        .header("x-aws-ec2-metadata-token", &token)
        .header("user-agent", "Mozilla/5.0")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_childs_ecs_variables_name_a_private_token_file_removed_when_dropped() {
    use std::os::unix::fs::PermissionsExt;
    let endpoint = start(Kind::Ecs, "2099-01-01T00:00:00Z").await;
    let (vars, file) = child_vars(&endpoint).unwrap();
    let var = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let token = endpoint.token.clone().unwrap();
    assert_eq!(
        var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        Some(endpoint.url.clone())
    );
    assert_eq!(
        var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        Some(token.clone())
    );
    let path = std::path::PathBuf::from(var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), token);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(file);
    assert!(!path.exists());
}

#[tokio::test]
async fn a_childs_ec2_variables_name_the_endpoint_and_no_token() {
    let endpoint = start(Kind::Ec2, "2099-01-01T00:00:00Z").await;
    let (vars, file) = child_vars(&endpoint).unwrap();
    assert!(file.is_none());
    assert_eq!(
        vars,
        [
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url.clone()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4".to_owned()),
        ]
    );
}

#[test]
fn a_session_from_the_cache_is_refreshed_by_its_whole_lifetime_not_what_is_left() {
    // An hour-long session issued 40 minutes ago: refreshed 15 minutes before expiry (now
    // already past that point), not a quarter of the 20 minutes left.
    let mut cached = test_credentials("dev", "2030-01-01T01:00:00Z");
    let expires_ms = cached.expires_at * 1000;
    let now_ms = expires_ms - 20 * 60 * 1000;
    cached.issued_at = Some(cached.expires_at - 3600);
    let obtained = obtained_ms(&cached, now_ms);
    assert_eq!(obtained, expires_ms - 3_600_000);
    let at = crate::endpoint::refresh::refresh_at(obtained, expires_ms, 0.0);
    assert_eq!(at, expires_ms - 15 * 60 * 1000);
    // Without an issue time (older cache entries) or with one in the future, now counts.
    cached.issued_at = None;
    assert_eq!(obtained_ms(&cached, now_ms), now_ms);
    cached.issued_at = Some(cached.expires_at);
    assert_eq!(obtained_ms(&cached, now_ms), now_ms);
}
