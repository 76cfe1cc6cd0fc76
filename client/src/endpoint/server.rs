//! The accept loop both endpoints run on: HTTP/1.1 (hyper), at most [`MAX_CONNECTIONS`] served at
//! once (more wait in the kernel's backlog), a timeout on each request head, request bodies never
//! read (no endpoint takes one), and everything stopped when the endpoint is.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::reply::Reply;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request head (and an idle keep-alive may wait).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// hyper's read buffer per connection (its smallest allowed), which bounds a request head.
const MAX_HEAD: usize = 8 * 1024;
/// How long the loop rests after a failed `accept` (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What answers the requests: from memory, without waiting on anything.
pub trait Answer: Send + Sync + 'static {
    fn answer(&self, request: &Parts) -> Reply;
}

/// A running endpoint; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops accepting, ends every connection, and waits for the loop to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `answer` on `listener` (on the current runtime) until stopped.
pub fn start(listener: TcpListener, answer: Arc<dyn Answer>) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, answer, stopped));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    answer: Arc<dyn Answer>,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Dropping the set (when the loop ends) aborts the connections still open.
    let mut connections = JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    loop {
        let slot = tokio::select! {
            biased;
            _ = &mut stopped => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        stream.set_nodelay(true).ok();
        let answer = answer.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let (parts, _body) = request.into_parts();
            std::future::ready(Ok::<_, Infallible>(answer.answer(&parts)))
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        connections.spawn(async move {
            // Timeouts and clients hanging up end here: nothing to report.
            let _ = connection.await;
            drop(slot);
        });
    }
}
