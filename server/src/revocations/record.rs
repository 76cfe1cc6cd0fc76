//! The entry point of a revocation (`vault admin revoke`): record who is revoked and since when,
//! mark every served role pending, and wake the worker. The AWS side follows asynchronously.

use time::OffsetDateTime;

use std::collections::BTreeMap;

use super::{
    policy::{self, PolicyError, Revoked},
    switch::Revocations,
};
use crate::{
    db::{self, revocations::Revocation},
    principal::Principal,
    sts::session_name_of,
};

/// The longest reason a revocation keeps.
pub const MAX_REASON: usize = 500;

/// What was recorded: the revocation (its time the later of this and any earlier one), the
/// roles whose policy will carry it, and the roles whose policy cannot hold every revocation in
/// force (over IAM's size limit: say so to the admin; the worker keeps retrying and auditing).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub revocation: Revocation,
    pub roles: Vec<String>,
    pub too_large: Vec<(String, PolicyError)>,
}

/// Why a revocation was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A client mistake (answer 400).
    #[error("the reason is longer than {MAX_REASON} characters")]
    ReasonTooLong,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Revocations {
    /// Records the revocation of `principal` at `now` by `by` (the admin's display name), and wakes
    /// the worker that writes it into every served role's policy
    /// (`state.revocations.record(principal, reason, by, now)`).
    pub async fn record(
        &self,
        principal: &Principal,
        reason: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Recorded, RecordError> {
        if reason.chars().count() > MAX_REASON {
            return Err(RecordError::ReasonTooLong);
        }
        let wanted = Revocation {
            principal_id: principal.id,
            source_identity: session_name_of(principal),
            revoked_at: now,
            reason: reason.to_owned(),
            revoked_by: by.chars().take(320).collect(),
        };
        let roles: Vec<String> = self.roles.iter().map(|r| r.arn.clone()).collect();
        let mut tx = self.pool.begin().await?;
        let revocation = db::revocations::upsert(&mut *tx, &wanted).await?;
        db::revocations::mark_pending(&mut *tx, &roles, now).await?;
        tx.commit().await?;
        self.wake.notify_one();
        let too_large = self.too_large(now).await?;
        Ok(Recorded {
            revocation,
            roles,
            too_large,
        })
    }

    /// The served roles whose policy would be over IAM's limit with the revocations in force
    /// (our statements alone: statements others added to a role's policy are not counted).
    async fn too_large(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, PolicyError)>, sqlx::Error> {
        let in_force = db::revocations::since(&self.pool, now - policy::LONGEST_SESSION).await?;
        let wanted: BTreeMap<String, Revoked> = in_force
            .into_iter()
            .map(|r| {
                let revoked = Revoked {
                    source_identity: r.source_identity,
                    revoked_at: r.revoked_at,
                };
                (policy::sid_of(r.principal_id), revoked)
            })
            .collect();
        let mut refused = Vec::new();
        for role in &self.roles {
            if let Err(e @ PolicyError::TooLarge { .. }) =
                policy::merge(None, &wanted, role.window, now)
            {
                refused.push((role.arn.clone(), e));
            }
        }
        Ok(refused)
    }
}
