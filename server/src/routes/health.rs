//! Liveness and readiness probes.

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use vault_api::ErrorBody;

use crate::{db, state::AppState};

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers within `[database] readiness_timeout`.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match db::ping(&state.db, state.config.database.readiness_timeout).await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            let body = ErrorBody {
                error: "not_ready".into(),
                message: "the database is unreachable".into(),
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}
