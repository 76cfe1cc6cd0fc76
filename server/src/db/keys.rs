//! The IAM access keys the server owns (sealed) and the persisted rotation state machine.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where an owned key stands (stored as text in `owned_keys.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum KeyState {
    /// Created and stored, not yet accepted by STS.
    Pending,
    /// The key every replica signs with (one per identity).
    Active,
    /// Replaced, still usable until it is deactivated.
    Retiring,
    /// Deactivated in IAM, waiting to be deleted.
    Inactive,
    Deleted,
}

/// The steps of a rotation (stored as text in `key_rotations.step`); see `keys::rotation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum RotationStep {
    Start,
    Created,
    Verified,
    Activated,
    Deactivated,
    Done,
    Failed,
}

impl RotationStep {
    pub fn as_str(self) -> &'static str {
        match self {
            RotationStep::Start => "start",
            RotationStep::Created => "created",
            RotationStep::Verified => "verified",
            RotationStep::Activated => "activated",
            RotationStep::Deactivated => "deactivated",
            RotationStep::Done => "done",
            RotationStep::Failed => "failed",
        }
    }
}

impl std::fmt::Display for RotationStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One owned access key. The secret is sealed; see `keys::seal`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedKey {
    pub access_key_id: String,
    pub identity: String,
    pub sealed_secret: String,
    pub master_key_id: String,
    pub state: KeyState,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
}

const KEY_COLUMNS: &str =
    "access_key_id, identity, sealed_secret, master_key_id, state, created_at, activated_at";

#[tracing::instrument(skip_all)]
pub async fn insert(
    ex: impl PgExecutor<'_>,
    access_key_id: &str,
    identity: &str,
    sealed_secret: &str,
    master_key_id: &str,
    state: KeyState,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO owned_keys (access_key_id, identity, sealed_secret, master_key_id, state, created_at, activated_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $5 = 'active' THEN $6 END)",
    )
    .bind(access_key_id)
    .bind(identity)
    .bind(sealed_secret)
    .bind(master_key_id)
    .bind(state)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The active key of `identity`.
pub async fn active(
    ex: impl PgExecutor<'_>,
    identity: &str,
) -> Result<Option<OwnedKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM owned_keys WHERE identity = $1 AND state = 'active'"
    ))
    .bind(identity)
    .fetch_optional(ex)
    .await
}

/// One key by id.
pub async fn find(
    ex: impl PgExecutor<'_>,
    access_key_id: &str,
) -> Result<Option<OwnedKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM owned_keys WHERE access_key_id = $1"
    ))
    .bind(access_key_id)
    .fetch_optional(ex)
    .await
}

/// Every key not yet deleted (for `keys rewrap`).
pub async fn all_live(ex: impl PgExecutor<'_>) -> Result<Vec<OwnedKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM owned_keys WHERE state <> 'deleted' ORDER BY created_at"
    ))
    .fetch_all(ex)
    .await
}

/// Replaces a key's sealed secret (rewrap under a new master key).
pub async fn reseal(
    ex: impl PgExecutor<'_>,
    access_key_id: &str,
    sealed: &str,
    master_key_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE owned_keys SET sealed_secret = $2, master_key_id = $3 WHERE access_key_id = $1",
    )
    .bind(access_key_id)
    .bind(sealed)
    .bind(master_key_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Moves a key to `state`, stamping the matching time.
pub async fn set_state(
    ex: impl PgExecutor<'_>,
    access_key_id: &str,
    state: KeyState,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE owned_keys SET state = $2,
            activated_at = CASE WHEN $2 = 'active' THEN $3 ELSE activated_at END,
            deactivated_at = CASE WHEN $2 = 'inactive' THEN $3 ELSE deactivated_at END,
            deleted_at = CASE WHEN $2 = 'deleted' THEN $3 ELSE deleted_at END
         WHERE access_key_id = $1",
    )
    .bind(access_key_id)
    .bind(state)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Tells every replica that an identity's active key changed.
pub async fn notify_changed(ex: impl PgExecutor<'_>, identity: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify('vault_keys', $1)")
        .bind(identity)
        .execute(ex)
        .await?;
    Ok(())
}

/// The advisory lock only the rotating replica holds: "vault_kr" as an integer.
const ROTATION_LOCK: i64 = 0x7661_756c_745f_6b72;

/// Takes the rotation lock for this session, unless another session holds it.
pub async fn try_rotation_lock(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(ROTATION_LOCK)
        .fetch_one(conn)
        .await
}

/// One rotation of one identity's key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rotation {
    pub id: Uuid,
    pub identity: String,
    pub step: RotationStep,
    pub old_key_id: Option<String>,
    pub new_key_id: Option<String>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub started_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

const ROTATION_COLUMNS: &str =
    "id, identity, step, old_key_id, new_key_id, reason, attempts, last_error, \
    next_attempt_at, started_at, updated_at, finished_at";

/// The unfinished rotation of `identity`, if any.
pub async fn open_rotation(
    ex: impl PgExecutor<'_>,
    identity: &str,
) -> Result<Option<Rotation>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ROTATION_COLUMNS} FROM key_rotations WHERE identity = $1 AND finished_at IS NULL"
    ))
    .bind(identity)
    .fetch_optional(ex)
    .await
}

/// The most recent rotation of `identity`, finished or not.
pub async fn last_rotation(
    ex: impl PgExecutor<'_>,
    identity: &str,
) -> Result<Option<Rotation>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ROTATION_COLUMNS} FROM key_rotations WHERE identity = $1 ORDER BY started_at DESC LIMIT 1"
    ))
    .bind(identity)
    .fetch_optional(ex)
    .await
}

/// Opens a rotation unless one is already open (then that one is returned).
pub async fn start_rotation(
    conn: &mut sqlx::PgConnection,
    identity: &str,
    old_key_id: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Rotation, sqlx::Error> {
    sqlx::query(
        "INSERT INTO key_rotations (id, identity, step, old_key_id, reason, next_attempt_at, started_at, updated_at)
         VALUES ($1, $2, 'start', $3, $4, $5, $5, $5) ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(identity)
    .bind(old_key_id)
    .bind(reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    open_rotation(&mut *conn, identity)
        .await?
        .ok_or_else(|| sqlx::Error::RowNotFound)
}

/// Records a completed step (and the new key once known) and clears the error, only if the
/// rotation is still at `expected` and unfinished; `false` (nothing written) otherwise. The
/// update locks the row, so of two writers of the same step only the first moves it on.
pub async fn advance(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    expected: RotationStep,
    step: RotationStep,
    new_key_id: Option<&str>,
    now: OffsetDateTime,
    next_attempt_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE key_rotations SET step = $2, new_key_id = COALESCE($3, new_key_id), attempts = 0, last_error = NULL,
            updated_at = $4, next_attempt_at = $5,
            finished_at = CASE WHEN $2 IN ('done', 'failed') THEN $4 END
         WHERE id = $1 AND step = $6 AND finished_at IS NULL",
    )
    .bind(id)
    .bind(step)
    .bind(new_key_id)
    .bind(now)
    .bind(next_attempt_at)
    .bind(expected)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The step a rotation is at now (`None`: no such rotation).
pub async fn rotation_step(
    ex: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<RotationStep>, sqlx::Error> {
    sqlx::query_scalar("SELECT step FROM key_rotations WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Records a failed attempt of step `at` and when to try again, only if the rotation is still
/// at that step and unfinished; `false` (nothing written) otherwise.
pub async fn record_failure(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    at: RotationStep,
    error: &str,
    now: OffsetDateTime,
    next_attempt_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE key_rotations SET attempts = attempts + 1, last_error = $2, updated_at = $3, next_attempt_at = $4
         WHERE id = $1 AND step = $5 AND finished_at IS NULL",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .bind(next_attempt_at)
    .bind(at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
