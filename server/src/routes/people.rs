//! `/v1/admin/sessions`, `/v1/admin/principals/{disable,enable}` and `/v1/admin/revoke`: people's
//! logins and access, for admins.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    Json,
};
use serde::Deserialize;
use vault_api::admin::{
    PrincipalRequest, PrincipalStateResponse, RevokeRequest, RevokeResponse, SessionsResponse,
};

use crate::{
    auth::{Admin, Attempt},
    error::ApiError,
    offboarding,
    request_meta::RequestMeta,
    routes::json::AppJson,
    state::AppState,
};

/// `GET /v1/admin/sessions`.
pub struct SeeSessions;
impl Attempt for SeeSessions {
    const WHAT: &'static str = "see people's login sessions";
}

/// `POST /v1/admin/principals/disable`.
pub struct DisablePrincipal;
impl Attempt for DisablePrincipal {
    const WHAT: &'static str = "disable a principal";
}
/// `POST /v1/admin/principals/enable`.
pub struct EnablePrincipal;
impl Attempt for EnablePrincipal {
    const WHAT: &'static str = "enable a principal";
}

/// `POST /v1/admin/revoke`.
pub struct RevokePrincipal;
impl Attempt for RevokePrincipal {
    const WHAT: &'static str = "revoke a principal";
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

/// Disables a principal: no login, refresh or request of it is honoured until it is enabled.
pub async fn disable(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<DisablePrincipal>,
    AppJson(body): AppJson<PrincipalRequest>,
) -> Result<Json<PrincipalStateResponse>, ApiError> {
    let done = offboarding::disable::set(&state, &caller, &meta, &body.principal, true).await?;
    Ok(Json(done))
}

/// Enables a disabled principal again.
pub async fn enable(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<EnablePrincipal>,
    AppJson(body): AppJson<PrincipalRequest>,
) -> Result<Json<PrincipalStateResponse>, ApiError> {
    let done = offboarding::disable::set(&state, &caller, &meta, &body.principal, false).await?;
    Ok(Json(done))
}

/// Ends a principal's access: every login on every replica, and a person's AWS sessions already
/// issued (the kill switch).
pub async fn revoke(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<RevokePrincipal>,
    AppJson(body): AppJson<RevokeRequest>,
) -> Result<Json<RevokeResponse>, ApiError> {
    let done = offboarding::revoke::revoke(&state, &caller, &meta, &body).await?;
    Ok(Json(done))
}
