//! RFC 6749 §5.2 errors from the `/oauth/*` endpoints: a code from a closed set, a status, and a
//! description a person can act on. Internal causes are logged once and never sent.

use axum::{
    extract::rejection::FormRejection,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use vault_api::OAuthErrorBody;

use super::api::ApiError;
use crate::limits::RateLimited;

/// The `error` codes this server answers with (RFC 6749 §5.2, RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    /// The client is registered but not allowed this grant (RFC 6749 §5.2).
    UnauthorizedClient,
    UnsupportedGrantType,
    AuthorizationPending,
    SlowDown,
    AccessDenied,
    ExpiredToken,
    TemporarilyUnavailable,
    ServerError,
    /// Over a rate limit (not in RFC 6749; answered 429 with `Retry-After`).
    RateLimited,
}

impl OAuthCode {
    /// The code as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthCode::InvalidRequest => "invalid_request",
            OAuthCode::InvalidClient => "invalid_client",
            OAuthCode::InvalidGrant => "invalid_grant",
            OAuthCode::UnauthorizedClient => "unauthorized_client",
            OAuthCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthCode::AuthorizationPending => "authorization_pending",
            OAuthCode::SlowDown => "slow_down",
            OAuthCode::AccessDenied => "access_denied",
            OAuthCode::ExpiredToken => "expired_token",
            OAuthCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthCode::ServerError => "server_error",
            OAuthCode::RateLimited => "rate_limited",
        }
    }

    /// The status a code is answered with unless a flow says otherwise.
    fn default_status(self) -> StatusCode {
        match self {
            OAuthCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error answered by an `/oauth/*` endpoint.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: OAuthCode,
    pub description: String,
    /// `Retry-After` in seconds, for [`OAuthCode::RateLimited`].
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: OAuthCode, description: impl Into<String>) -> Self {
        OAuthError {
            status: code.default_status(),
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// The same error with another status (the token exchange answers 401 and 403).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// `invalid_request` naming a missing parameter.
    pub fn missing(name: &str) -> Self {
        OAuthError::new(OAuthCode::InvalidRequest, format!("{name} is required"))
    }

    /// `unauthorized_client`: `client_id` may not use `what`.
    pub fn not_allowed(client_id: &str, what: &str) -> Self {
        OAuthError::new(
            OAuthCode::UnauthorizedClient,
            format!("client `{client_id}` is not allowed {what}; add it to the client's grants in [[clients]]"),
        )
    }
}

impl From<ApiError> for OAuthError {
    /// The one place an API failure becomes an OAuth one.
    fn from(e: ApiError) -> Self {
        if let ApiError::RateLimited(r) = e {
            return r.into();
        }
        let (status, _, message) = e.into_public();
        let code = match status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY => {
                OAuthCode::TemporarilyUnavailable
            }
            StatusCode::INTERNAL_SERVER_ERROR => OAuthCode::ServerError,
            _ => OAuthCode::InvalidRequest,
        };
        OAuthError::new(code, message)
    }
}

impl From<RateLimited> for OAuthError {
    fn from(r: RateLimited) -> Self {
        OAuthError {
            retry_after: Some(r.retry_after_secs),
            ..OAuthError::new(OAuthCode::RateLimited, r.to_string())
        }
    }
}

impl From<crate::db::DbError> for OAuthError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::trail::writer::WriteFailed> for OAuthError {
    fn from(e: crate::trail::writer::WriteFailed) -> Self {
        ApiError::from(e).into()
    }
}

impl From<FormRejection> for OAuthError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let (status, _, message) = ApiError::body_too_large().into_public();
            return OAuthError::new(OAuthCode::InvalidRequest, message).with_status(status);
        }
        OAuthError::new(
            OAuthCode::InvalidRequest,
            format!("malformed form body: {}", rejection.body_text()),
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.code.as_str().to_owned(),
            error_description: Some(self.description),
        };
        // `Cache-Control: no-store` comes from `routes/headers.rs`, as for the answers it refuses.
        let mut response = (self.status, Json(body)).into_response();
        // RFC 6749 §5.2 and RFC 7235 §3.1: a 401 names the scheme to authenticate with.
        if self.code == OAuthCode::InvalidClient && self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"team-vault\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
