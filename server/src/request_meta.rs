//! Where a request came from: request id, client address and user agent, for logs and audit.

mod forwarded;

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderValue},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use uuid::Uuid;

pub use forwarded::client_ip;

/// The id of one request, set by [`assign_request_id`] and echoed in `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Facts about the request that go into audit events.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// Where this request came from, as a login session remembers it.
    pub fn origin(&self) -> crate::db::sessions::Origin<'_> {
        crate::db::sessions::Origin {
            client_addr: self.client_addr.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }

    /// For events the server raises itself.
    pub fn internal() -> Self {
        RequestMeta {
            request_id: Uuid::new_v4().to_string(),
            client_addr: None,
            user_agent: None,
        }
    }
}

/// Middleware: gives every request a fresh id (client-supplied ids are not trusted for audit).
pub async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let id = Uuid::new_v4().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The client's address, computed once per request by [`resolve_client`]: what rate limits
/// key on and audit rows record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address of the request whose head is `parts`, if it came over a socket.
    pub fn of(parts: &Parts) -> Option<IpAddr> {
        parts
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip().to_canonical())
            })
    }
}

/// Middleware: the client address from the socket peer and, behind a trusted proxy, from its
/// forwarding headers (see [`client_ip`]).
pub async fn resolve_client(
    State(trusted): State<Arc<[IpNet]>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let client = client_ip(peer, request.headers(), &trusted);
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta::from_parts(parts))
    }
}

impl RequestMeta {
    /// The facts of a request whose head is `parts`.
    pub fn from_parts(parts: &Parts) -> Self {
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let client_addr = ClientAddr::of(parts).map(|ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        RequestMeta {
            request_id,
            client_addr,
            user_agent,
        }
    }
}
