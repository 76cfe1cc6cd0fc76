//! `POST /v1/credentials` and its mairu-compatible alias `POST /assume-role`.

use axum::{extract::State, Json};
use vault_api::{AssumeRoleRequest, Credentials, CredentialsRequest};

use crate::{
    auth::Caller,
    error::ApiError,
    issuance,
    request_meta::RequestMeta,
    routes::json::{AppJson, LenientJson},
    state::AppState,
};

/// Issues credentials for the profile named in a JSON body.
pub async fn issue(
    State(state): State<AppState>,
    meta: RequestMeta,
    caller: Caller,
    body: Result<AppJson<CredentialsRequest>, ApiError>,
) -> Result<Json<Credentials>, ApiError> {
    let AppJson(body) = match body {
        Ok(body) => body,
        Err(e) => return Err(issuance::refuse_malformed(&state, &caller, &meta, e).await),
    };
    issuance::issue(&state, &caller, &meta, &body.profile, body.duration_seconds)
        .await
        .map(Json)
}

/// The mairu API: a JSON body with a JSON `Content-Type` or none (anything else is a 415).
pub async fn assume_role(
    State(state): State<AppState>,
    meta: RequestMeta,
    caller: Caller,
    body: Result<LenientJson<AssumeRoleRequest>, ApiError>,
) -> Result<Json<Credentials>, ApiError> {
    let LenientJson(body) = match body {
        Ok(body) => body,
        Err(e) => return Err(issuance::refuse_malformed(&state, &caller, &meta, e).await),
    };
    issuance::issue(&state, &caller, &meta, &body.role, body.duration_seconds)
        .await
        .map(Json)
}
