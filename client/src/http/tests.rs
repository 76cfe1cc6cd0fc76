use super::*;

#[test]
fn a_denial_reads_as_the_servers_message() {
    let body = r#"{"error":"forbidden","message":"you may not assume prod: not in group ops"}"#;
    let err = error_from(StatusCode::FORBIDDEN, body);
    assert!(matches!(err, ApiError::Forbidden { .. }));
    assert_eq!(err.to_string(), "you may not assume prod: not in group ops");
}

#[test]
fn an_oauth_error_keeps_its_code_for_the_caller_to_match() {
    let body = r#"{"error":"invalid_grant","error_description":"refresh token revoked"}"#;
    let err = error_from(StatusCode::BAD_REQUEST, body);
    assert_eq!(err.oauth_code(), Some("invalid_grant"));
    assert_eq!(err.to_string(), "refresh token revoked (invalid_grant)");
}

/// Answers one request with `response` and hands back the request head it received.
async fn one_shot_server(response: &'static str) -> (ServerUrl, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = ServerUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let handle = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            head.extend_from_slice(&buf[..n]);
        }
        stream.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&head).to_lowercase()
    });
    (url, handle)
}

#[tokio::test]
async fn a_redirect_is_never_followed_with_the_token_attached() {
    let (url, server) = one_shot_server(
        "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let http = Http::new(&url).unwrap();
    let err = http
        .get::<ErrorBody>("v1/whoami", Some("tok"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Redirect { ref location, .. } if location == "http://elsewhere.example/")
    );
    let head = server.await.unwrap();
    assert!(head.contains("authorization: bearer tok"), "{head}");
    assert!(
        head.contains(&format!("user-agent: vault/{}", env!("CARGO_PKG_VERSION"))),
        "{head}"
    );
}

#[tokio::test]
async fn an_answer_larger_than_a_mebibyte_is_refused_whether_declared_or_streamed() {
    use crate::test_server::one_shot;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_BODY));
    let (base, _request) = one_shot("200 OK", &big).await;
    let http = Http::new(&ServerUrl::parse(&base).unwrap()).unwrap();
    let err = http
        .get::<serde_json::Value>("v1/profiles", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::TooLarge { limit: MAX_BODY }),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 1024 KiB"), "{err}");
    assert!(err.hint().is_some());

    // No Content-Length: refused once what arrived passes the limit.
    let response: &'static str = Box::leak(
        format!("HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n{big}")
            .into_boxed_str(),
    );
    let (url, _head) = one_shot_server(response).await;
    let err = Http::new(&url)
        .unwrap()
        .get::<serde_json::Value>("v1/profiles", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn an_answer_of_just_under_a_mebibyte_is_read() {
    use crate::test_server::one_shot;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_BODY - 20));
    let (base, _request) = one_shot("200 OK", &body).await;
    let http = Http::new(&ServerUrl::parse(&base).unwrap()).unwrap();
    let answer: serde_json::Value = http.get("v1/profiles", None).await.unwrap();
    assert_eq!(answer["pad"].as_str().map(str::len), Some(MAX_BODY - 20));
}

#[tokio::test]
async fn an_unreachable_server_is_named_in_the_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = ServerUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let err = Http::new(&url)
        .unwrap()
        .get::<ErrorBody>("healthz", None)
        .await
        .unwrap_err();
    assert!(err
        .to_string()
        .starts_with(&format!("cannot reach team-vault server at {url}")));
    assert!(err.hint().is_some());
}

#[test]
fn a_body_that_is_not_json_is_shown_briefly() {
    let err = error_from(StatusCode::BAD_GATEWAY, "<html>bad gateway</html>");
    assert_eq!(
        err.to_string(),
        "the server answered 502: <html>bad gateway</html>"
    );
    let empty = error_from(StatusCode::SERVICE_UNAVAILABLE, "");
    assert_eq!(empty.to_string(), "Service Unavailable");
}

#[test]
fn the_servers_error_code_is_kept_for_the_caller_to_match() {
    let body = r#"{"error":"no_owned_keys","message":"this server owns no IAM keys"}"#;
    let err = error_from(StatusCode::NOT_FOUND, body);
    assert!(
        matches!(err, ApiError::Status { status: 404, code: Some(ref c), .. } if c == "no_owned_keys")
    );
    let bare = error_from(StatusCode::NOT_FOUND, "");
    assert!(matches!(bare, ApiError::Status { code: None, .. }));
}
