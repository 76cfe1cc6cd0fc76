//! Applying revocations to each served role as a persisted state machine. Each step is
//! idempotent and recorded before the next begins, so a crash anywhere resumes from the table:
//!
//! `pending` (GetRolePolicy, merge the revocations in force, store the document) → `merged`
//! (PutRolePolicy, or DeleteRolePolicy when no statement is left) → `applied`, due again when
//! its first statement expires, to prune it. Failures are audited and retried with backoff.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use sqlx::PgPool;
use time::OffsetDateTime;

use super::{
    iam::RolePolicies,
    policy::{self, Desired, Revoked},
    roles::ServedRole,
    step_error::StepError,
};
use crate::{
    audit::{AuditEvent, Outcome},
    db::{
        self,
        revocations::{RoleState, RoleStep},
    },
    keys::rotation::backoff,
    request_meta::RequestMeta,
};

/// At most this many roles are stepped per tick.
const ROLES_PER_TICK: i64 = 100;
/// When a role with no statement left is looked at again (a new revocation wakes it earlier).
const IDLE_RECHECK: Duration = Duration::from_secs(24 * 3600);

/// Steps every due role.
pub struct Applier {
    pool: PgPool,
    iam: Arc<dyn RolePolicies>,
    roles: Vec<ServedRole>,
}

impl Applier {
    pub fn new(pool: PgPool, iam: Arc<dyn RolePolicies>, roles: Vec<ServedRole>) -> Self {
        Applier { pool, iam, roles }
    }

    /// The role's window: its longest session, or STS's longest for a role no profile names.
    fn window(&self, arn: &str) -> Duration {
        self.roles
            .iter()
            .find(|r| r.arn == arn)
            .map_or(policy::LONGEST_SESSION, |r| r.window)
    }

    /// Runs every step that is due, each role to `applied` if it can.
    pub async fn tick(&self, now: OffsetDateTime) -> Result<(), StepError> {
        for mut role in db::revocations::due(&self.pool, now, ROLES_PER_TICK).await? {
            // pending → merged → applied: at most two steps per role and tick.
            for _ in 0..2 {
                match self.step(&role, now).await {
                    Ok(()) => {}
                    Err(e @ StepError::Moved(_)) => {
                        tracing::info!(error = %e, "revocation step skipped");
                        break;
                    }
                    Err(e) => {
                        self.fail(&role, &e, now).await?;
                        break;
                    }
                }
                match db::revocations::due(&self.pool, now, ROLES_PER_TICK)
                    .await?
                    .into_iter()
                    .find(|r| r.role_arn == role.role_arn)
                {
                    Some(next) if next.step != role.step => role = next,
                    _ => break,
                }
            }
        }
        Ok(())
    }

    async fn step(&self, role: &RoleState, now: OffsetDateTime) -> Result<(), StepError> {
        let window = self.window(&role.role_arn);
        match role.step {
            RoleStep::Pending | RoleStep::Applied => {
                let current = self.iam.get(&role.role_arn).await?;
                let since = now - window;
                let wanted: BTreeMap<String, Revoked> = db::revocations::since(&self.pool, since)
                    .await?
                    .into_iter()
                    .map(|r| {
                        (
                            policy::sid_of(r.principal_id),
                            Revoked {
                                source_identity: r.source_identity,
                                revoked_at: r.revoked_at,
                            },
                        )
                    })
                    .collect();
                let document = match policy::merge(current.as_deref(), &wanted, window, now)? {
                    Desired::Put(text) => Some(text),
                    Desired::Absent => None,
                };
                let moved = db::revocations::advance(
                    &self.pool,
                    role,
                    RoleStep::Merged,
                    document.as_deref(),
                    now,
                    now,
                )
                .await?;
                if !moved {
                    return Err(StepError::Moved(role.role_arn.clone()));
                }
            }
            RoleStep::Merged => {
                let (action, statements, due) = match &role.document {
                    Some(doc) => {
                        self.iam.put(&role.role_arn, doc).await?;
                        let ours = policy::statements_of(doc);
                        let first = ours
                            .values()
                            .map(|r| policy::expires_at(r.revoked_at, window))
                            .min()
                            .unwrap_or(now + IDLE_RECHECK);
                        ("put", ours.len(), first)
                    }
                    None => {
                        self.iam.delete(&role.role_arn).await?;
                        ("delete", 0, now + IDLE_RECHECK)
                    }
                };
                let event = base(Outcome::Success, &role.role_arn, now)
                    .detail("action", action)
                    .detail("statements", statements)
                    .detail("next_check", due.to_string());
                let mut tx = self.pool.begin().await?;
                let doc = role.document.as_deref();
                if !db::revocations::advance(&mut *tx, role, RoleStep::Applied, doc, now, due)
                    .await?
                {
                    return Err(StepError::Moved(role.role_arn.clone()));
                }
                db::audit::append(&mut tx, &[event]).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn fail(
        &self,
        role: &RoleState,
        e: &StepError,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        let retry_at = now + backoff(role.attempts + 1);
        tracing::warn!(role = %role.role_arn, step = role.step.as_str(), error = %e, "revocation step failed; will retry");
        let event = base(Outcome::Failure, &role.role_arn, now)
            .reason(e.to_string())
            .detail("step", role.step.as_str())
            .detail("attempt", role.attempts + 1)
            .detail("retry_at", retry_at.to_string());
        let mut tx = self.pool.begin().await?;
        if db::revocations::record_failure(&mut *tx, role, &e.to_string(), now, retry_at).await? {
            db::audit::append(&mut tx, &[event]).await?;
        }
        tx.commit().await
    }
}

/// The `revocation_apply` event of one role.
fn base(outcome: Outcome, role: &str, now: OffsetDateTime) -> AuditEvent {
    AuditEvent::new("revocation_apply", outcome, &RequestMeta::internal(), now)
        .as_server()
        .detail("role", role)
}
