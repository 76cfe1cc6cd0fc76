//! `GET /v1/admin/revocations`: what the kill switch denies, per served role, for admins.

use axum::{extract::State, Json};
use time::format_description::well_known::Rfc3339;
use vault_api::revocations::{RevokedStatement, RoleRevocations};

use crate::{
    auth::{Admin, Attempt},
    clock,
    error::ApiError,
    revocations::policy,
    state::AppState,
};

/// `GET /v1/admin/revocations`.
pub struct SeeRevocations;
impl Attempt for SeeRevocations {
    const WHAT: &'static str = "see the revocations in force";
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Each served role, its step, and each statement in force with the time it expires.
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<SeeRevocations>,
) -> Result<Json<Vec<RoleRevocations>>, ApiError> {
    let now = clock::now();
    let roles = state.revocations.in_force(now).await?;
    let out = roles
        .into_iter()
        .map(|r| RoleRevocations {
            step: r.state.as_ref().map_or("none", |s| s.step.as_str()).into(),
            attempts: r.state.as_ref().map_or(0, |s| s.attempts.max(0) as u32),
            last_error: r.state.as_ref().and_then(|s| s.last_error.clone()),
            applied_at: r.state.as_ref().and_then(|s| s.applied_at).map(rfc3339),
            statements: r
                .revoked
                .into_iter()
                .map(|v| RevokedStatement {
                    principal_id: v.principal_id.to_string(),
                    source_identity: v.source_identity,
                    revoked_at: rfc3339(v.revoked_at),
                    expires_at: rfc3339(policy::expires_at(v.revoked_at, r.role.window)),
                    reason: v.reason,
                    revoked_by: v.revoked_by,
                })
                .collect(),
            role_arn: r.role.arn,
        })
        .collect();
    Ok(Json(out))
}
