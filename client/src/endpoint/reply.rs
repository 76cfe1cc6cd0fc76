//! The answers of both endpoints: bodies already in memory, errors as `{"code","message"}`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// What an endpoint answers.
pub type Reply = Response<Full<Bytes>>;

fn with_type(status: StatusCode, body: Bytes, kind: &'static str) -> Reply {
    let mut reply = Response::new(Full::new(body));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    reply
}

/// 200 with a JSON body.
pub fn json(body: Bytes) -> Reply {
    with_type(StatusCode::OK, body, "application/json")
}

/// 200 with a plain-text body (IMDS's lists and values).
pub fn text(body: Bytes) -> Reply {
    with_type(StatusCode::OK, body, "text/plain")
}

/// An error: `{"code": code, "message": message}`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    let body = serde_json::json!({ "code": code, "message": message });
    with_type(status, Bytes::from(body.to_string()), "application/json")
}

/// 403 for a request that failed a check.
pub fn forbidden(message: &str) -> Reply {
    error(StatusCode::FORBIDDEN, "forbidden", message)
}

/// 404.
pub fn not_found() -> Reply {
    error(StatusCode::NOT_FOUND, "not_found", "nothing is served here")
}

/// 405.
pub fn wrong_method() -> Reply {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint answers GET only",
    )
}

/// 503 once the session has expired and no refresh has replaced it.
pub fn expired() -> Reply {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "expired",
        "the session has expired and could not be refreshed; run `vault login`",
    )
}
