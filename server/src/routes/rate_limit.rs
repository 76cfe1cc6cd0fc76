//! Middleware: a request reached without a bearer token counts against its client address
//! (`[limits] unauthenticated`); the `/v1` API's routes, `/assume-role` and `/roles` are counted by the
//! `Caller` extractor instead, per principal once the token is verified. Over the limit: 429 with
//! `Retry-After`, in the shape the endpoint's clients read.

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    error::{ApiError, OAuthError},
    limits::{self, RateLimited},
    request_meta::ClientAddr,
    state::AppState,
};

use super::pages;

/// Counts unauthenticated requests against their address; health checks are never limited.
/// A path under `/v1/` that no route serves reaches no `Caller` extractor, so it counts against
/// its address too (a flood of 404s is limited like any other).
pub async fn by_address(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let routed = request.extensions().get::<MatchedPath>().is_some();
    if matches!(path, "/healthz" | "/readyz") || (routed && limits::counted_per_principal(path)) {
        return next.run(request).await;
    }
    let addr = request.extensions().get::<ClientAddr>().map(|c| c.0);
    let kind = limits::kind(request.method(), path);
    match state.limits.check_address(addr, &kind) {
        Ok(()) => next.run(request).await,
        Err(limited) => refusal(path, limited),
    }
}

/// OAuth endpoints answer in RFC 6749's shape, pages a browser lands on with a page, the rest
/// with the API's JSON error.
fn refusal(path: &str, limited: RateLimited) -> Response {
    match path {
        "/oauth/token" | "/oauth/device" | "/oauth/revoke" => {
            OAuthError::from(limited).into_response()
        }
        "/oauth/authorize" | "/oauth/callback" | "/device" => {
            pages::api_error_page(ApiError::from(limited))
        }
        _ => ApiError::from(limited).into_response(),
    }
}
