//! The entry point of a revocation (`vault admin revoke`): record who is revoked and since when,
//! mark every served role pending, and wake the worker. The AWS side follows asynchronously.

use time::OffsetDateTime;

use super::switch::Revocations;
use crate::{
    db::{self, revocations::Revocation},
    principal::Principal,
    sts::session_name_of,
};

/// The longest reason a revocation keeps.
pub const MAX_REASON: usize = 500;

/// What was recorded: the revocation (its time the later of this and any earlier one) and the
/// roles whose policy will carry it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub revocation: Revocation,
    pub roles: Vec<String>,
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
        Ok(Recorded { revocation, roles })
    }
}
