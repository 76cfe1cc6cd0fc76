//! The entry point of a revocation (`vault admin revoke`): record who is revoked and since when,
//! mark every served role pending, and wake the worker. The AWS side follows asynchronously.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{
    policy::{self, PolicyError, Revoked},
    switch::Revocations,
};

use crate::{
    db::{self, revocations::Revocation},
    principal::{Principal, PrincipalKind},
    sts::session_name_of,
};

/// The longest reason a revocation keeps.
pub const MAX_REASON: usize = 500;

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
    /// Records, in the caller's transaction, the revocation of each person among `principals` at
    /// `now` by `by` (the admin's display name), and marks every served role pending. CI
    /// identities are skipped: each job's sessions carry a source identity of their own (its
    /// run), so no one statement names them; ending their logins and reusable sessions, and
    /// `disable`, is what stops them. Returns what was recorded (each time the later of this and
    /// any earlier one). Call [`Revocations::recorded`] once the transaction commits.
    pub async fn record(
        &self,
        conn: &mut PgConnection,
        principals: &[Principal],
        reason: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Revocation>, RecordError> {
        if reason.chars().count() > MAX_REASON {
            return Err(RecordError::ReasonTooLong);
        }
        let mut recorded = Vec::new();
        for principal in principals.iter().filter(|p| p.kind == PrincipalKind::User) {
            let wanted = Revocation {
                principal_id: principal.id,
                source_identity: session_name_of(principal),
                revoked_at: now,
                reason: reason.to_owned(),
                revoked_by: by.chars().take(320).collect(),
            };
            recorded.push(db::revocations::upsert(&mut *conn, &wanted).await?);
        }
        if !recorded.is_empty() {
            let roles: Vec<String> = self.roles.iter().map(|r| r.arn.clone()).collect();
            db::revocations::mark_pending(&mut *conn, &roles, now).await?;
        }
        Ok(recorded)
    }

    /// After [`Revocations::record`]'s transaction commits: wakes the worker that writes the
    /// policies, and returns the served roles whose policy cannot hold every revocation in force
    /// (over IAM's size limit: say so to the admin; the worker keeps retrying and auditing).
    pub async fn recorded(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, PolicyError)>, sqlx::Error> {
        self.wake.notify_one();
        self.too_large(now).await
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
