//! Connection-level limits: a connection that sends half a request head, or sits idle after a
//! response, is closed within the header timeout while other clients are served.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vault_e2e::TestApp;

/// The header timeout these tests configure.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// How much later than the timeout a close may come (a debug build on a busy 2-core machine).
const SLACK: Duration = Duration::from_secs(3);

async fn app_with_short_header_timeout() -> TestApp {
    TestApp::builder()
        .extra_toml("http = { header_timeout = \"1s\" }")
        .spawn()
        .await
}

fn address(app: &TestApp) -> String {
    app.bound_url.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (EOF or reset), at most `limit`; what it sent
/// and when the first byte and the close came.
async fn read_until_closed(
    mut stream: TcpStream,
    limit: Duration,
) -> (Vec<u8>, Option<Instant>, Instant) {
    let mut received = Vec::new();
    let mut first_byte = None;
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => {
                    first_byte.get_or_insert_with(Instant::now);
                    received.extend_from_slice(&buf[..n]);
                }
            }
        }
    };
    let closed = tokio::time::timeout(limit, read_all)
        .await
        .unwrap_or_else(|_| panic!("the server kept the connection open for more than {limit:?}"));
    (received, first_byte, closed)
}

#[tokio::test]
async fn half_sent_request_heads_are_closed_within_the_header_timeout_while_others_are_served() {
    let app = app_with_short_header_timeout().await;
    let addr = address(&app);

    let mut slow = Vec::new();
    for _ in 0..6 {
        let mut stream = TcpStream::connect(&addr).await.expect("connecting");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .expect("sending half a head");
        slow.push(stream);
    }
    let sent = Instant::now();

    for _ in 0..5 {
        let resp = app
            .http
            .get(app.endpoint("/healthz"))
            .send()
            .await
            .expect("GET /healthz");
        assert_eq!(resp.status(), 200);
    }
    assert!(
        sent.elapsed() < HEADER_TIMEOUT,
        "ordinary requests took {:?}, longer than the header timeout, while half-open connections waited",
        sent.elapsed()
    );

    let closes = futures_util::future::join_all(
        slow.into_iter()
            .map(|s| read_until_closed(s, HEADER_TIMEOUT + SLACK)),
    )
    .await;
    for (received, _, closed) in closes {
        let after = closed - sent;
        assert!(
            after >= HEADER_TIMEOUT.mul_f32(0.8),
            "a half-open connection was closed after {after:?}, before the header timeout"
        );
        assert!(
            !String::from_utf8_lossy(&received).contains(" 200 "),
            "a half-sent request was answered: {}",
            String::from_utf8_lossy(&received)
        );
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_within_the_header_timeout() {
    let app = app_with_short_header_timeout().await;
    let mut stream = TcpStream::connect(address(&app)).await.expect("connecting");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("sending a request");

    let (received, first_byte, closed) = read_until_closed(stream, HEADER_TIMEOUT + SLACK).await;

    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let idle = closed - first_byte.expect("a response");
    assert!(
        idle >= HEADER_TIMEOUT.mul_f32(0.8),
        "the idle connection was closed {idle:?} after the response, before the header timeout"
    );
}

#[tokio::test]
async fn a_client_over_the_connection_cap_waits_in_the_backlog_and_is_served_when_a_slot_frees() {
    let app = TestApp::builder()
        .extra_toml("http = { header_timeout = \"1s\", max_connections = 1 }")
        .spawn()
        .await;
    // One answered request: this connection is accepted and holds the only slot, idle, until
    // the header timeout closes it.
    let mut holder = TcpStream::connect(address(&app)).await.expect("connecting");
    holder
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("sending a request");
    let mut buf = [0u8; 1024];
    let n = holder.read(&mut buf).await.expect("reading the answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let answered = Instant::now();

    let resp = app
        .http
        .get(app.endpoint("/healthz"))
        .send()
        .await
        .expect("the waiting client is served, not dropped");

    assert_eq!(resp.status(), 200);
    let waited = answered.elapsed();
    assert!(
        waited >= HEADER_TIMEOUT.mul_f32(0.8),
        "served after {waited:?}, while the only slot was still taken"
    );
    assert!(waited < HEADER_TIMEOUT + SLACK, "{waited:?}");
}

#[tokio::test]
async fn a_request_head_far_over_64_kib_is_refused_with_431_and_the_server_serves_on() {
    let app = TestApp::spawn().await;
    let mut stream = TcpStream::connect(address(&app)).await.expect("connecting");
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        // hyper's limit is on its read buffer, which may take in up to twice the limit at once;
        // its default (~400 KB) would take this whole head.
        "a".repeat(300 * 1024)
    );
    // The server may answer and close before it has read everything: a failed write is fine.
    let _ = stream.write_all(head.as_bytes()).await;

    let (received, _, _) = read_until_closed(stream, SLACK).await;

    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    let resp = app.http.get(app.endpoint("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
