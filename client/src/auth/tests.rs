use super::*;
use crate::test_server::one_shot;

async fn server(body: &str) -> (Http, tokio::task::JoinHandle<String>) {
    let (base, request) = one_shot("200 OK", body).await;
    let http = Http::new(&ServerUrl::parse(&base).unwrap()).unwrap();
    (http, request)
}

fn metadata(base: &str, token_endpoint: &str) -> String {
    serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": token_endpoint,
        "device_authorization_endpoint": format!("{base}/oauth/device"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
    })
    .to_string()
}

/// Serves the metadata `make(base)` builds for the one-shot server's own base URL.
async fn discover_with(
    make: impl Fn(&str) -> String,
) -> anyhow::Result<AuthorizationServerMetadata> {
    // The server's base URL is only known once it listens: bind, then answer.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = make(&base);
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    });
    let http = Http::new(&ServerUrl::parse(&base).unwrap()).unwrap();
    discover(&http).await
}

#[tokio::test]
async fn metadata_whose_endpoints_are_on_the_servers_origin_is_accepted() {
    let meta = discover_with(|base| metadata(base, &format!("{base}/oauth/token")))
        .await
        .unwrap();
    assert!(meta.token_endpoint.ends_with("/oauth/token"));
}

#[tokio::test]
async fn login_refuses_metadata_sending_tokens_to_another_origin_or_scheme() {
    let other_port = |base: &str| {
        let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
        format!("http://127.0.0.1:{}/oauth/token", port.wrapping_add(1))
    };
    for (what, make) in [
        (
            "another host",
            Box::new(|_: &str| "https://evil.example/oauth/token".to_owned())
                as Box<dyn Fn(&str) -> String>,
        ),
        ("another port", Box::new(other_port)),
        (
            "another scheme",
            Box::new(|base: &str| base.replace("http://", "https://") + "/oauth/token"),
        ),
        (
            "not http",
            Box::new(|base: &str| base.replace("http://", "ftp://") + "/oauth/token"),
        ),
        ("not a URL", Box::new(|_: &str| "/oauth/token".to_owned())),
    ] {
        let err = discover_with(|base| metadata(base, &make(base)))
            .await
            .unwrap_err();
        let line = err.to_string();
        assert!(
            line.starts_with(
                "refusing to log in: the server's metadata sends its token_endpoint to"
            ),
            "{what}: {line}"
        );
        assert!(!line.contains('\n'), "{what}: one line: {line}");
        assert!(crate::error::hint(&err, &[]).is_some(), "{what}: a hint");
    }
}

#[tokio::test]
async fn a_query_request_carries_the_query_and_the_bearer_token() {
    let (http, request) = server(r#"{"ok":true}"#).await;
    let auth = Authenticator::ci(&http, ci::Secret::new("tok"));
    let query = [("limit", "5".to_owned()), ("since", "7d".to_owned())];
    let answer: serde_json::Value = auth.get_query("v1/audit", &query, None).await.unwrap();
    assert_eq!(answer["ok"], true);
    let request = request.await.unwrap();
    assert!(
        request.starts_with("GET /v1/audit?limit=5&since=7d "),
        "{request}"
    );
    assert!(request.to_lowercase().contains("authorization: bearer tok"));
}
