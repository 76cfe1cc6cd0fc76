//! The API's error type: every failure becomes a status and a JSON body a person can act on.
//! Internal causes are logged once and never sent to the client.

use axum::{
    extract::rejection::{FormRejection, JsonRejection},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use vault_api::{ErrorBody, OAuthErrorBody};

/// An error answered by an `/v1` or `/assume-role` handler.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    BadGateway(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound { code, .. } => (StatusCode::NOT_FOUND, code),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "upstream_error"),
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
            crate::db::DbError::Other(cause) => ApiError::Internal(cause.into()),
        }
    }
}

impl From<crate::audit::writer::WriteFailed> for ApiError {
    /// The writer logged the cause; the client learns only that nothing was decided.
    fn from(_: crate::audit::writer::WriteFailed) -> Self {
        ApiError::Unavailable(
            "the audit trail cannot be written right now, so nothing was done; try again shortly"
                .into(),
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadRequest(format!("malformed request body: {}", rejection.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let message = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "internal server error; the cause is in the server log".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: code.to_owned(),
                message,
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"team-vault\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// An RFC 6749 §5.2 error from the `/oauth/*` endpoints.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = match error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }
}

impl OAuthError {
    /// The CLI is the only client: anything else is `invalid_client` (RFC 6749 §5.2).
    pub fn check_client(client_id: Option<&str>) -> Result<(), OAuthError> {
        if client_id == Some(vault_api::CLI_CLIENT_ID) {
            return Ok(());
        }
        Err(OAuthError::new(
            "invalid_client",
            format!(
                "unknown client; the only client is `{}`",
                vault_api::CLI_CLIENT_ID
            ),
        ))
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unavailable(m) | ApiError::BadGateway(m) => {
                OAuthError::new("temporarily_unavailable", m)
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                OAuthError::new("server_error", "internal server error")
            }
            other => OAuthError::new("invalid_request", other.to_string()),
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

impl From<FormRejection> for OAuthError {
    fn from(rejection: FormRejection) -> Self {
        OAuthError::new(
            "invalid_request",
            format!("malformed form body: {}", rejection.body_text()),
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error.to_owned(),
            error_description: Some(self.description),
        };
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response()
    }
}
