//! A TCP proxy between the server and moto that can hold AWS calls by action: the server's
//! request naming `Action=X` waits at the proxy, so a test can kill the server right before that
//! call reaches AWS (and then drop the request, as if it never left). Bytes pass unchanged, so
//! SigV4 signatures (over the proxy's host) still check out at moto.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Default)]
struct Holds {
    /// The action whose requests are held now.
    action: Option<String>,
    /// Requests waiting at the proxy: `true` sends them on, `false` drops them.
    waiting: Vec<(String, oneshot::Sender<bool>)>,
}

/// A running proxy; stops when dropped.
pub struct AwsProxy {
    pub url: String,
    holds: Arc<Mutex<Holds>>,
    task: JoinHandle<()>,
}

impl AwsProxy {
    /// Listens on a free port and forwards every connection to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> AwsProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let holds = Arc::new(Mutex::new(Holds::default()));
        let shared = holds.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, holds) = (upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, holds).await;
                    }
                });
            }
        });
        AwsProxy { url, holds, task }
    }

    /// From now on, requests for `action` (e.g. `GetCallerIdentity`) wait at the proxy.
    pub fn hold(&self, action: &str) {
        self.lock().action = Some(action.to_owned());
    }

    /// Waits until a request for the held action is waiting.
    pub async fn wait_until_held(&self, limit: Duration) {
        let action = self.lock().action.clone().expect("hold an action first");
        crate::poll::until(
            &format!("a {action} request to reach the proxy"),
            limit,
            || async { (!self.lock().waiting.is_empty()).then_some(()) },
        )
        .await;
    }

    /// Stops holding; the waiting requests are sent on (`forward`) or dropped unsent.
    pub fn release(&self, forward: bool) -> usize {
        let mut holds = self.lock();
        holds.action = None;
        let waiting = std::mem::take(&mut holds.waiting);
        let n = waiting.len();
        for (_, verdict) in waiting {
            let _ = verdict.send(forward);
        }
        n
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Holds> {
        self.holds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways; a chunk from the client naming the held action waits for its verdict.
async fn relay(client: TcpStream, server: TcpStream, holds: Arc<Mutex<Holds>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upward = async move {
        let mut buf = vec![0u8; 64 * 1024];
        // The end of the previous chunk, so a pattern split across two reads is still seen.
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut window = std::mem::take(&mut tail);
            window.extend_from_slice(&buf[..n]);
            let wait = {
                let mut h = holds.lock().unwrap_or_else(|e| e.into_inner());
                match &h.action {
                    Some(action) if contains(&window, format!("Action={action}").as_bytes()) => {
                        let (tx, rx) = oneshot::channel();
                        let action = action.clone();
                        h.waiting.push((action, tx));
                        Some(rx)
                    }
                    _ => None,
                }
            };
            if let Some(rx) = wait {
                if !rx.await.unwrap_or(false) {
                    break; // dropped: the request never reaches AWS
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            tail = window[window.len().saturating_sub(64)..].to_vec();
        }
        let _ = server_write.shutdown().await;
    };
    let downward = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upward, downward);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
