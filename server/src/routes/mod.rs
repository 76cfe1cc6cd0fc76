//! The one route table.

mod admin;
mod audit;
mod authorize;
mod callback;
mod console;
mod cookies;
mod credentials;
mod device;
mod headers;
mod health;
pub mod json;
mod pages;
mod people;
mod profiles;
mod rate_limit;
mod revocations;
mod revoke;
mod timeout;
mod token;
mod well_known;

use axum::{
    extract::DefaultBodyLimit,
    http::{header, Request, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::{
    error::{ApiError, BODY_LIMIT},
    request_meta,
    state::AppState,
};

/// Every route the server answers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/oauth-authorization-server", get(well_known::metadata))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route("/oauth/authorize", get(authorize::authorize))
        .route("/oauth/callback", get(callback::callback))
        .route("/oauth/token", post(token::token))
        .route("/oauth/device", post(device::authorize_device))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/device", get(device::page_get).post(device::page_post))
        .route("/v1/whoami", get(profiles::whoami))
        .route("/v1/profiles", get(profiles::list))
        .route("/v1/credentials", post(credentials::issue))
        .route("/assume-role", post(credentials::assume_role))
        .route("/roles", get(profiles::roles))
        .route("/v1/console", post(console::sign_in))
        .route("/v1/admin/keys", get(admin::keys))
        .route("/v1/admin/rotate", post(admin::rotate))
        .route("/v1/admin/sessions", get(people::sessions))
        .route("/v1/admin/principals/disable", post(people::disable))
        .route("/v1/admin/principals/enable", post(people::enable))
        .route("/v1/admin/revoke", post(people::revoke))
        .route("/v1/admin/revocations", get(revocations::list))
        .route("/v1/audit", get(audit::list))
        .route("/v1/audit/follow", get(audit::follow))
        .route("/v1/audit/export", get(audit::export))
        .route("/v1/audit/verify", get(audit::verify))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Inner to outer: every request is bounded in time (503 past it); the per-address rate
        // limit reads the client address resolved before it.
        .layer(middleware::from_fn_with_state(state.clone(), timeout::bound))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::by_address,
        ))
        .layer(middleware::from_fn_with_state(
            state.config.trusted_proxies.clone().into(),
            request_meta::resolve_client,
        ))
        // Every body is read through axum's extractors, which stop at this limit.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::map_response(plain_413_as_json))
        .layer(
            // Only the path is logged: query strings carry codes and states.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .extensions()
                    .get::<request_meta::RequestId>()
                    .map(|r| r.0.as_str())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(middleware::from_fn(request_meta::assign_request_id))
        .layer(middleware::from_fn_with_state(
            headers::Headers::new(&state.config.oidc.issuer.origin().ascii_serialization()),
            headers::set,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "not_found",
        message: "no such endpoint".into(),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this endpoint does not answer that method".into())
}

/// An over-limit body that an extractor refused with axum's plain-text 413 gets the API's
/// JSON error instead (pages and JSON errors pass unchanged).
async fn plain_413_as_json(response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return ApiError::body_too_large().into_response();
    }
    response
}
