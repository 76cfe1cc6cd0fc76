//! Rotation of one identity's access key as a persisted state machine. Each step is idempotent
//! and recorded before the next begins, so a crash anywhere resumes where it stopped:
//!
//! `start` (delete an extra key IAM may hold, never the active one; create the new key; store it
//! sealed as pending) → `created` (wait until STS accepts it: IAM is eventually consistent) →
//! `verified` (make it active everywhere, old key retiring) → `activated` (after a grace period,
//! mark the old key Inactive) → `deactivated` (after a second grace period, delete it) → `done`.
//! Failures keep the current key active, are audited, and retry with backoff.

use std::sync::Arc;

use sqlx::PgPool;
use time::OffsetDateTime;

mod backoff;
mod step_error;

pub use backoff::backoff;
pub use step_error::StepError;

use super::{active::ActiveKeys, iam::KeyAdmin, mask::mask};
use crate::{
    audit::{AuditEvent, Outcome},
    config::Identity,
    db::{
        self,
        keys::{KeyState, Rotation, RotationStep},
    },
    request_meta::RequestMeta,
    trail::writer::AuditWriter,
};

/// How often an unverified new key is tried before the rotation gives up and removes it.
const MAX_VERIFY_ATTEMPTS: i32 = 12;

/// A change to the stored keys that a step records with its progress.
enum KeyChange<'a> {
    /// Store a newly created key, sealed, as pending.
    Store {
        access_key_id: &'a str,
        sealed: &'a str,
    },
    /// Move a key to another state.
    Set(&'a str, KeyState),
    /// Tell every replica that the identity's active key changed.
    Announce,
}

/// Rotates one identity's key.
pub struct Rotator {
    pub identity: Identity,
    pool: PgPool,
    keys: Arc<ActiveKeys>,
    admin: Arc<dyn KeyAdmin>,
    audit: AuditWriter,
}

impl Rotator {
    pub fn new(
        identity: Identity,
        pool: PgPool,
        keys: Arc<ActiveKeys>,
        admin: Arc<dyn KeyAdmin>,
        audit: AuditWriter,
    ) -> Self {
        Rotator {
            identity,
            pool,
            keys,
            admin,
            audit,
        }
    }

    /// Opens a rotation now (`vault admin rotate`), unless one is already under way.
    /// The old key is the one the database calls active, not this replica's copy, which may lag
    /// a rotation another replica has just finished (and name a key already deleted).
    pub async fn request(&self, reason: &str, now: OffsetDateTime) -> Result<Rotation, StepError> {
        self.request_audited(reason, now, |_| None).await
    }

    /// `request`, committing the event `audit` makes of the rotation in the same transaction:
    /// the rotation is open only if its event is in the trail.
    pub async fn request_audited(
        &self,
        reason: &str,
        now: OffsetDateTime,
        audit: impl FnOnce(&Rotation) -> Option<AuditEvent>,
    ) -> Result<Rotation, StepError> {
        let old = db::keys::active(&self.pool, &self.identity.name)
            .await?
            .map(|k| k.access_key_id)
            .ok_or_else(|| {
                StepError::Other(format!(
                    "identity `{}` has no active key",
                    self.identity.name
                ))
            })?;
        let mut tx = self.pool.begin().await?;
        let rotation =
            db::keys::start_rotation(&mut tx, &self.identity.name, &old, reason, now).await?;
        if let Some(event) = audit(&rotation) {
            db::audit::append(&mut tx, &[event]).await?;
        }
        tx.commit().await?;
        Ok(rotation)
    }

    /// Starts a scheduled rotation when the key is old enough, then runs every step that is due.
    pub async fn tick(&self, now: OffsetDateTime) -> Result<(), StepError> {
        let name = &self.identity.name;
        let mut rotation = match db::keys::open_rotation(&self.pool, name).await? {
            Some(r) => r,
            None if self.identity.rotate && self.key_is_old(now).await? => {
                self.request("schedule", now).await?
            }
            None => return Ok(()),
        };
        while rotation.finished_at.is_none() && rotation.next_attempt_at <= now {
            let step = rotation.step;
            match self.step(&rotation, now).await {
                Ok(()) => {}
                Err(e @ StepError::Moved { .. }) => {
                    // Not a failure of this step: someone else decided it. Report, write nothing.
                    tracing::warn!(identity = %name, error = %e, "rotation moved on under this writer; nothing recorded");
                    return Ok(());
                }
                Err(e) => {
                    self.fail(&rotation, &e, now).await?;
                    return Err(e);
                }
            }
            match db::keys::open_rotation(&self.pool, name).await? {
                Some(next) if next.step != step => rotation = next,
                _ => break,
            }
        }
        Ok(())
    }

    async fn key_is_old(&self, now: OffsetDateTime) -> Result<bool, sqlx::Error> {
        let Some(key) = db::keys::active(&self.pool, &self.identity.name).await? else {
            return Ok(false);
        };
        let since = key.activated_at.unwrap_or(key.created_at);
        Ok(now - since >= self.identity.max_key_age)
    }

    async fn step(&self, r: &Rotation, now: OffsetDateTime) -> Result<(), StepError> {
        let user = &self.identity.iam_user;
        let old = r.old_key_id.as_deref().filter(|k| !k.is_empty());
        let new_id = r.new_key_id.clone().unwrap_or_default();
        let old_changed = |state| old.map(|k| KeyChange::Set(k, state));
        match r.step {
            RotationStep::Start => {
                self.remove_extra_keys(old.unwrap_or_default(), now).await?;
                let (new_id, secret) = self.admin.create_key(user).await?;
                let sealed = self
                    .keys
                    .master()
                    .seal(secrecy::ExposeSecret::expose_secret(&secret), &new_id);
                let store = KeyChange::Store {
                    access_key_id: &new_id,
                    sealed: &sealed,
                };
                self.record(r, &[store], RotationStep::Created, Some(&new_id), now, now)
                    .await?;
            }
            RotationStep::Created => {
                let key = db::keys::find(&self.pool, &new_id).await?.ok_or_else(|| {
                    StepError::Other(format!("new key {} is not stored", mask(&new_id)))
                })?;
                let secret = self
                    .keys
                    .master()
                    .open(&key.sealed_secret, &new_id)
                    .map_err(|e| StepError::Other(e.to_string()))?;
                if let Err(e) = self.admin.check_key(&new_id, &secret).await {
                    if r.attempts + 1 < MAX_VERIFY_ATTEMPTS {
                        return Err(e.into());
                    }
                    // Never accepted: remove it and keep the old key, as if nothing happened.
                    self.admin.delete_key(user, &new_id).await?;
                    let deleted = KeyChange::Set(&new_id, KeyState::Deleted);
                    self.record(r, &[deleted], RotationStep::Failed, None, now, now)
                        .await?;
                    return Ok(());
                }
                self.record(r, &[], RotationStep::Verified, None, now, now)
                    .await?;
            }
            RotationStep::Verified => {
                let changes: Vec<_> = old_changed(KeyState::Retiring)
                    .into_iter()
                    .chain([
                        KeyChange::Set(&new_id, KeyState::Active),
                        KeyChange::Announce,
                    ])
                    .collect();
                let due = now + self.identity.deactivate_after;
                self.record(r, &changes, RotationStep::Activated, None, now, due)
                    .await?;
                if let Err(e) = self.keys.reload(&self.pool).await {
                    tracing::warn!(error = %e, "reloading keys after activation failed");
                }
            }
            RotationStep::Activated => {
                if let Some(old) = old {
                    self.admin.deactivate_key(user, old).await?;
                }
                let changes: Vec<_> = old_changed(KeyState::Inactive).into_iter().collect();
                let due = now + self.identity.delete_after;
                self.record(r, &changes, RotationStep::Deactivated, None, now, due)
                    .await?;
            }
            RotationStep::Deactivated => {
                if let Some(old) = old {
                    self.admin.delete_key(user, old).await?;
                }
                let changes: Vec<_> = old_changed(KeyState::Deleted).into_iter().collect();
                self.record(r, &changes, RotationStep::Done, None, now, now)
                    .await?;
            }
            RotationStep::Done | RotationStep::Failed => {
                return Err(StepError::Other(format!(
                    "rotation {} has already finished ({})",
                    r.id, r.step
                )))
            }
        }
        Ok(())
    }

    /// Records a completed step in one transaction: the key changes it made, the rotation moved
    /// on to `next` (due at `due`), and the step's audit event, so a crash can lose none of them
    /// without the others.
    async fn record(
        &self,
        r: &Rotation,
        changes: &[KeyChange<'_>],
        next: RotationStep,
        new_key: Option<&str>,
        now: OffsetDateTime,
        due: OffsetDateTime,
    ) -> Result<(), StepError> {
        let mut tx = self.pool.begin().await?;
        // First, and conditional: the row lock it takes makes a second writer of this step wait,
        // then find the step moved on and write nothing.
        if !db::keys::advance(&mut *tx, r.id, r.step, next, new_key, now, due).await? {
            let found = db::keys::rotation_step(&mut *tx, r.id).await?;
            return Err(StepError::Moved {
                id: r.id,
                expected: r.step,
                found: found.map_or_else(|| "(gone)".to_owned(), |s| s.to_string()),
            });
        }
        for change in changes {
            match *change {
                KeyChange::Store {
                    access_key_id,
                    sealed,
                } => {
                    let (identity, master) = (&self.identity.name, self.keys.master().id());
                    db::keys::insert(
                        &mut *tx,
                        access_key_id,
                        identity,
                        sealed,
                        master,
                        KeyState::Pending,
                        now,
                    )
                    .await?
                }
                KeyChange::Set(key, state) => {
                    db::keys::set_state(&mut *tx, key, state, now).await?
                }
                KeyChange::Announce => {
                    db::keys::notify_changed(&mut *tx, &self.identity.name).await?
                }
            }
        }
        let (action, key) = match next {
            RotationStep::Created => ("key_created", new_key),
            RotationStep::Verified => ("key_verified", r.new_key_id.as_deref()),
            RotationStep::Activated => ("key_activated", r.new_key_id.as_deref()),
            RotationStep::Deactivated => ("key_deactivated", r.old_key_id.as_deref()),
            RotationStep::Done => ("key_rotated", r.new_key_id.as_deref()),
            RotationStep::Failed => ("key_rotation_failed", r.new_key_id.as_deref()),
            // No step leads back to the start.
            RotationStep::Start => ("key_rotation_started", None),
        };
        let event = self.step_event(action, r, key, now);
        db::audit::append(&mut tx, &[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// IAM allows two keys per user. Anything besides the active key (an orphan of a crash
    /// between create and store, or a leftover) is deleted first; the active key never is.
    async fn remove_extra_keys(&self, active: &str, now: OffsetDateTime) -> Result<(), StepError> {
        let listed = self.admin.list_keys(&self.identity.iam_user).await?;
        if listed.len() < 2 {
            return Ok(());
        }
        for extra in listed.iter().filter(|k| k.access_key_id != active) {
            if !extra.active
                || db::keys::find(&self.pool, &extra.access_key_id)
                    .await?
                    .is_none_or(|k| k.state != KeyState::Active)
            {
                self.admin
                    .delete_key(&self.identity.iam_user, &extra.access_key_id)
                    .await?;
                if db::keys::find(&self.pool, &extra.access_key_id)
                    .await?
                    .is_some()
                {
                    db::keys::set_state(&self.pool, &extra.access_key_id, KeyState::Deleted, now)
                        .await?;
                }
                let event = self
                    .base("key_extra_deleted", Outcome::Success, now)
                    .detail("deleted_key", &extra.access_key_id);
                let _ = self.audit.write(event).await;
            }
        }
        Ok(())
    }

    async fn fail(
        &self,
        r: &Rotation,
        e: &StepError,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        let next = now + backoff(r.attempts + 1);
        tracing::warn!(identity = %self.identity.name, step = %r.step, error = %e, "key rotation step failed; will retry");
        let event = self
            .base("key_rotation_failure", Outcome::Failure, now)
            .reason(e.to_string())
            .detail("rotation", r.id)
            .detail("step", r.step.as_str())
            .detail("attempt", r.attempts + 1)
            .detail("retry_at", next.to_string());
        let mut tx = self.pool.begin().await?;
        if !db::keys::record_failure(&mut *tx, r.id, r.step, &e.to_string(), now, next).await? {
            tracing::warn!(identity = %self.identity.name, rotation = %r.id, step = %r.step, "rotation moved on; its failure was not recorded");
            return Ok(());
        }
        db::audit::append(&mut tx, &[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    fn base(&self, action: &'static str, outcome: Outcome, now: OffsetDateTime) -> AuditEvent {
        AuditEvent::new(action, outcome, &RequestMeta::internal(), now)
            .as_server()
            .detail("identity", &self.identity.name)
    }

    /// The audit event of a step, committed in the same transaction as the step itself: a
    /// crash can lose neither without the other.
    fn step_event(
        &self,
        action: &'static str,
        r: &Rotation,
        key: Option<&str>,
        now: OffsetDateTime,
    ) -> AuditEvent {
        self.base(action, Outcome::Success, now)
            .detail("rotation", r.id)
            .detail("old_key", &r.old_key_id)
            .detail("key", key)
    }
}
