//! The error of the `/v1` and `/assume-role` API: every failure becomes a status and a JSON
//! body a person can act on. Internal causes are logged once and never sent to the client.

use axum::{
    extract::rejection::JsonRejection,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use vault_api::ErrorBody;

use crate::{limits::RateLimited, policy::Denial};

/// An error answered by an `/v1` or `/assume-role` handler.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// A 400 with a code of its own, for a client that tells refusals apart.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TooLarge(String),
    /// A body whose `Content-Type` the endpoint does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    /// The request did not finish within its bound (`[timeouts]`); see `routes/timeout.rs`.
    #[error("{0}")]
    TimedOut(String),
    #[error("{0}")]
    BadGateway(String),
    /// Over a rate limit: 429 with `Retry-After`.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The `error` code the answer carries (`bad_request`, `unsupported_media_type`, …).
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound { code, .. } => (StatusCode::NOT_FOUND, code),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::TimedOut(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "upstream_error"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(crate::db::DbError::from(e))
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                ApiError::Unavailable(
                    "the team-vault database is unavailable; try again shortly".into(),
                )
            }
            crate::db::DbError::TimedOut(cause) => {
                tracing::warn!(error = %cause, "database statement cut by statement_timeout");
                ApiError::Unavailable(
                    "the team-vault database took too long to answer; try again shortly".into(),
                )
            }
            crate::db::DbError::Other(cause) => ApiError::Internal(cause.into()),
        }
    }
}

impl From<crate::trail::writer::WriteFailed> for ApiError {
    /// The one mapping of an audit write failure: the writer logged the cause, the client
    /// learns only that nothing was done.
    fn from(_: crate::trail::writer::WriteFailed) -> Self {
        ApiError::Unavailable(
            "the audit trail cannot be written right now, so nothing was done; try again shortly"
                .into(),
        )
    }
}

impl From<Denial> for ApiError {
    /// An unknown profile is a 404; every other refusal is a 403. Both carry the reason.
    fn from(denial: Denial) -> Self {
        let (code, message) = (denial.code(), denial.to_string());
        match denial {
            Denial::UnknownProfile { .. } | Denial::MalformedProfile { .. } => {
                ApiError::NotFound { code, message }
            }
            _ => ApiError::Forbidden { code, message },
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => return ApiError::body_too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                return ApiError::UnsupportedMediaType(
                    "the request body must be JSON: send Content-Type application/json".into(),
                )
            }
            _ => {}
        }
        ApiError::BadRequest(format!("malformed request body: {}", rejection.body_text()))
    }
}

/// The most a request body may hold (`routes::router` sets it on every route).
pub const BODY_LIMIT: usize = 64 * 1024;

impl ApiError {
    /// A request body over [`BODY_LIMIT`].
    pub fn body_too_large() -> Self {
        ApiError::TooLarge(format!(
            "the request body is larger than {} KiB",
            BODY_LIMIT / 1024
        ))
    }
}

impl ApiError {
    /// Status, code and the text the client may see. The cause of an internal error is logged
    /// here, the one place every answer passes through, and replaced by a generic sentence.
    pub fn into_public(self) -> (StatusCode, &'static str, String) {
        let (status, code) = self.parts();
        let message = match self {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "internal server error; the cause is in the server log".to_owned()
            }
            other => other.to_string(),
        };
        (status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::RateLimited(r) => Some(r.retry_after_secs),
            _ => None,
        };
        let (status, code, message) = self.into_public();
        let mut response = (
            status,
            Json(ErrorBody {
                error: code.to_owned(),
                message,
            }),
        )
            .into_response();
        let retry_after = retry_after.or(
            // Every 503 is a passing condition (database, audit trail, timeout): say when to retry.
            (status == StatusCode::SERVICE_UNAVAILABLE).then_some(2),
        );
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"team-vault\", error=\"invalid_token\""),
            );
        }
        response
    }
}
