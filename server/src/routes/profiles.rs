//! `GET /v1/profiles`, its mairu-compatible alias `GET /roles`, and `GET /v1/whoami`.

use axum::{extract::State, Json};
use time::format_description::well_known::Rfc3339;
use vault_api::{ProfileInfo, ProfileList, RoleInfo, RoleList, WhoAmI};

use crate::{auth::Caller, error::ApiError, policy, state::AppState};

/// The profiles the caller may assume.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<ProfileList> {
    let profiles = policy::assumable(&state.config, caller.membership())
        .map(|p| ProfileInfo {
            name: p.name.clone(),
            role_arn: p.role_arn.clone(),
            region: p.region.clone(),
            default_duration_seconds: p.default_duration.as_secs() as u32,
            max_duration_seconds: p.max_duration.as_secs() as u32,
        })
        .collect();
    Json(ProfileList { profiles })
}

/// The same profiles in the mairu shape: `{"Roles":[{"Name":"dev"}]}`.
pub async fn roles(State(state): State<AppState>, caller: Caller) -> Json<RoleList> {
    let roles = policy::assumable(&state.config, caller.membership())
        .map(|p| RoleInfo {
            name: p.name.clone(),
        })
        .collect();
    Json(RoleList { roles })
}

/// Who the token stands for.
pub async fn whoami(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WhoAmI>, ApiError> {
    let is_admin = caller.is_admin(&state.config);
    Ok(Json(WhoAmI {
        principal_id: caller.principal.id.to_string(),
        kind: caller.principal.kind.as_str().to_owned(),
        display: caller.principal.display,
        groups: caller.groups,
        is_admin,
        session_id: caller.session_id.to_string(),
        token_expires_at: caller
            .token_expires_at
            .format(&Rfc3339)
            .map_err(anyhow::Error::from)?,
    }))
}
