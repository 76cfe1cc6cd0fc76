//! What the kill switch denies now, per served role (`GET /v1/admin/revocations`).

use time::OffsetDateTime;

use super::{policy, roles::ServedRole, switch::Revocations};
use crate::db::{
    self,
    revocations::{Revocation, RoleState},
};

/// One served role: its progress (none if nothing was ever revoked) and who it denies.
pub struct RoleView {
    pub role: ServedRole,
    pub state: Option<RoleState>,
    pub revoked: Vec<Revocation>,
}

impl Revocations {
    /// Every served role with the revocations still in force on it at `now`.
    pub async fn in_force(&self, now: OffsetDateTime) -> Result<Vec<RoleView>, sqlx::Error> {
        let states = db::revocations::roles(&self.pool).await?;
        let all = db::revocations::since(&self.pool, now - policy::LONGEST_SESSION).await?;
        Ok(self
            .roles
            .iter()
            .map(|role| RoleView {
                role: role.clone(),
                state: states.iter().find(|s| s.role_arn == role.arn).cloned(),
                revoked: all
                    .iter()
                    .filter(|r| policy::expires_at(r.revoked_at, role.window) > now)
                    .cloned()
                    .collect(),
            })
            .collect())
    }
}
