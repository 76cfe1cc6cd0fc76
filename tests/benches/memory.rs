//! The server's resident memory: a release `vault-server` idle (after start and a login), then
//! holding 1,000 open keep-alive connections, then answering 1,000 concurrent requests, read from
//! `/proc/PID/status` (VmRSS now, VmHWM the peak). Targets: 50 MB idle, 200 MB at 1,000.
//!
//! Run with `tests/bench memory`. Knob: BENCH_MEMORY_CONNECTIONS (default 1000).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vault_e2e::bench::BenchServer;
use vault_e2e::oauth::OAuthClient;

#[tokio::main]
async fn main() -> Result<()> {
    let n = std::env::var("BENCH_MEMORY_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000usize);
    let scratch = std::env::var_os("BENCH_SCRATCH")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let server = BenchServer::start("memory-server", "", &scratch).await?;
    let token = OAuthClient::new(&server.url)
        .login("alice")
        .await
        .access_token;
    let addr = server.url.trim_start_matches("http://").to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = server.memory_kib()?;
    println!(
        "RSS idle (after start and one login): {:.1} MB (target < 50 MB)",
        mb(idle)
    );

    // 1,000 connections, each having been answered once and kept open (keep-alive).
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = TcpStream::connect(&addr).await.context("connecting")?;
        request(&mut c, &addr, "/healthz", None).await?;
        open.push(c);
    }
    let (held, _) = server.memory_kib()?;
    println!(
        "RSS with {n} open keep-alive connections: {:.1} MB (target < 200 MB)",
        mb(held)
    );

    // The same connections, each sending an authenticated request at once.
    let mut tasks = Vec::with_capacity(n);
    for mut c in open {
        let (addr, token) = (addr.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let status = request(&mut c, &addr, "/v1/profiles", Some(&token)).await;
            (c, status)
        }));
    }
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut conns = Vec::with_capacity(n);
    for t in tasks {
        let (c, status) = t.await?;
        let key = match status {
            Ok(s) => s,
            Err(e) => format!("error: {e}"),
        };
        *statuses.entry(key).or_default() += 1;
        conns.push(c);
    }
    let (after, peak) = server.memory_kib()?;
    println!(
        "RSS after {n} concurrent requests: {:.1} MB, peak (VmHWM) {:.1} MB (target < 200 MB); answers: {statuses:?}",
        mb(after),
        mb(peak)
    );
    drop(conns);
    server.drop_database().await
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One HTTP/1.1 request on a kept-alive connection; returns the status line's code.
async fn request(c: &mut TcpStream, host: &str, path: &str, token: Option<&str>) -> Result<String> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n").as_bytes())
        .await?;
    // Read the head, then exactly Content-Length bytes of body, so the connection stays usable.
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tokio::time::timeout(Duration::from_secs(30), c.read(&mut chunk)).await??;
        if n == 0 {
            bail!("the server closed the connection");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            bail!("no end of headers in 64 KiB");
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = tokio::time::timeout(Duration::from_secs(30), c.read(&mut chunk)).await??;
        if n == 0 {
            bail!("the server closed the connection mid-body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(head.split_whitespace().nth(1).unwrap_or("?").to_owned())
}
