//! `POST /v1/console`: a sign-in URL for the AWS console.

use axum::{extract::State, Json};
use vault_api::console::{ConsoleLogin, ConsoleRequest};

use crate::{
    auth::Caller, console, error::ApiError, issuance::steps, request_meta::RequestMeta,
    routes::json::AppJson, state::AppState,
};

/// Signs the caller in to the console as the profile's role, by URL.
pub async fn sign_in(
    State(state): State<AppState>,
    meta: RequestMeta,
    caller: Caller,
    body: Result<AppJson<ConsoleRequest>, ApiError>,
) -> Result<Json<ConsoleLogin>, ApiError> {
    let AppJson(body) = match body {
        Ok(body) => body,
        Err(e) => {
            return Err(steps::refuse(&state, &caller, &meta, console::CONSOLE, None, e).await)
        }
    };
    console::sign_in(&state, &caller, &meta, &body)
        .await
        .map(Json)
}
