//! The accept loop: every connection gets hyper's header-read timeout, at most
//! `[http].max_connections` are served at once, and a shutdown stops accepting at once, lets
//! requests in flight finish within `[http].shutdown_grace`, and tells long polls to answer now.
//!
//! HTTP/1.1 only (as before, with `axum::serve`): the server sits behind a TLS-terminating proxy
//! or is reached on plain http, and hyper-util's protocol detection would run without a timer,
//! holding a silent connection open indefinitely.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
    Router,
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::watch, sync::Semaphore};
use tower::ServiceExt;

use crate::config::HttpConfig;

/// The most a request head may hold (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// How long the loop rests after a failed `accept` (for example out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished its requests within the grace.
    Finished,
    /// The grace ran out; the remaining connections were cut.
    Cut,
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (see the module).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    http: &HttpConfig,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let (stopping, shutting_down) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(http.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_timeout)
        // hyper's default (~400 KB) times every connection is a lot of memory. The limit is on
        // its read buffer, so a head is refused (431, then closed) somewhere between this and
        // twice this, depending on how much one read takes in.
        .max_buf_size(MAX_HEAD);
    tokio::pin!(shutdown);
    loop {
        // A slot first: when all are taken, new connections wait in the kernel's backlog (and
        // are served as soon as one frees) instead of being accepted only to be closed.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        stream.set_nodelay(true).ok();
        let service = per_request(router.clone(), peer, ShuttingDown(shutting_down.clone()));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts and clients hanging up land here: routine, not worth a warning.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // Closing the listener makes the kernel refuse new connections from here on.
    drop(listener);
    stopping.send_replace(true);
    match tokio::time::timeout(http.shutdown_grace, graceful.shutdown()).await {
        Ok(()) => Drained::Finished,
        Err(_) => Drained::Cut,
    }
}

/// The hyper service of one connection: each request gets the peer address (for
/// `ConnectInfo<SocketAddr>`) and the shutdown signal, then goes to the router.
fn per_request(
    router: Router,
    peer: SocketAddr,
    shutting_down: ShuttingDown,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(shutting_down.clone());
        router.clone().oneshot(request)
    })
}

/// Whether the server has begun shutting down; long polls answer early when it has.
/// Extracted from a request; a request that did not come through [`serve`] never sees it set.
#[derive(Debug, Clone)]
pub struct ShuttingDown(watch::Receiver<bool>);

impl ShuttingDown {
    /// True once the listener is closed.
    pub fn now(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when the shutdown begins (at once if it has).
    pub async fn begun(&mut self) {
        if self.0.wait_for(|s| *s).await.is_err() {
            // The loop is gone without a shutdown (a test's router): never.
            std::future::pending::<()>().await;
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ShuttingDown {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ShuttingDown>() {
            Some(s) => s.clone(),
            None => ShuttingDown(watch::channel(false).1),
        })
    }
}
