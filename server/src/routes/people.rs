//! `/v1/admin/sessions` and the other offboarding endpoints: people's logins, for admins.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    Json,
};
use serde::Deserialize;
use vault_api::admin::SessionsResponse;

use crate::{
    auth::{Admin, Attempt},
    error::ApiError,
    offboarding,
    request_meta::RequestMeta,
    state::AppState,
};

/// `GET /v1/admin/sessions`.
pub struct SeeSessions;
impl Attempt for SeeSessions {
    const WHAT: &'static str = "see people's login sessions";
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsParams {
    principal: Option<String>,
}

/// The live logins, newest first (`?principal=` narrows them to one principal).
pub async fn sessions(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<SeeSessions>,
    params: Result<Query<SessionsParams>, QueryRejection>,
) -> Result<Json<SessionsResponse>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let listed =
        offboarding::sessions::list(&state, &caller, &meta, p.principal.as_deref()).await?;
    Ok(Json(listed))
}
