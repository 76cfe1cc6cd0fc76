//! Revoked principals and the per-role progress of the kill-switch policy (`revocations`).

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a role's policy stands (stored as text in `revocation_roles.step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum RoleStep {
    /// New revocations (or a statement due to expire): read the policy and merge.
    Pending,
    /// Merged; the document is stored and is to be written to IAM.
    Merged,
    /// IAM holds the document; due again when its first statement expires.
    Applied,
}

impl RoleStep {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleStep::Pending => "pending",
            RoleStep::Merged => "merged",
            RoleStep::Applied => "applied",
        }
    }
}

/// One revoked principal.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Revocation {
    pub principal_id: Uuid,
    pub source_identity: String,
    pub revoked_at: OffsetDateTime,
    pub reason: String,
    pub revoked_by: String,
}

/// One served role's progress.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleState {
    pub role_arn: String,
    pub step: RoleStep,
    pub generation: i64,
    pub document: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub applied_at: Option<OffsetDateTime>,
}

const ROLE_COLUMNS: &str = "role_arn, step, generation, document, attempts, last_error, \
                            next_attempt_at, applied_at";

/// Records (or renews) a revocation; a later time replaces an earlier one, never the reverse.
pub async fn upsert(ex: impl PgExecutor<'_>, r: &Revocation) -> Result<Revocation, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO revocations (principal_id, source_identity, revoked_at, reason, revoked_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (principal_id) DO UPDATE SET
            source_identity = EXCLUDED.source_identity,
            revoked_at = GREATEST(revocations.revoked_at, EXCLUDED.revoked_at),
            reason = EXCLUDED.reason,
            revoked_by = EXCLUDED.revoked_by
         RETURNING principal_id, source_identity, revoked_at, reason, revoked_by",
    )
    .bind(r.principal_id)
    .bind(&r.source_identity)
    .bind(r.revoked_at)
    .bind(&r.reason)
    .bind(&r.revoked_by)
    .fetch_one(ex)
    .await
}

/// Revocations issued after `since` (older ones have expired on every role), oldest first.
pub async fn since(
    ex: impl PgExecutor<'_>,
    since: OffsetDateTime,
) -> Result<Vec<Revocation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT principal_id, source_identity, revoked_at, reason, revoked_by
         FROM revocations WHERE revoked_at > $1 ORDER BY revoked_at LIMIT 10000",
    )
    .bind(since)
    .fetch_all(ex)
    .await
}

/// Marks every role as needing a merge now, starting a new generation.
pub async fn mark_pending(
    ex: impl PgExecutor<'_>,
    roles: &[String],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO revocation_roles (role_arn, step, next_attempt_at, updated_at)
         SELECT r, 'pending', $2, $2 FROM unnest($1::text[]) AS r
         ON CONFLICT (role_arn) DO UPDATE SET step = 'pending',
            generation = revocation_roles.generation + 1, document = NULL, attempts = 0,
            last_error = NULL, next_attempt_at = $2, updated_at = $2",
    )
    .bind(roles)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Roles whose next step is due, at most `limit`.
pub async fn due(
    ex: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<RoleState>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ROLE_COLUMNS} FROM revocation_roles WHERE next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Every role's progress (for `vault admin revocations`).
pub async fn roles(ex: impl PgExecutor<'_>) -> Result<Vec<RoleState>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ROLE_COLUMNS} FROM revocation_roles ORDER BY role_arn LIMIT 1000"
    ))
    .fetch_all(ex)
    .await
}

/// Moves a role from the step and generation a writer read to `next`, storing `document` and
/// when it is due again; `false` if someone else moved it first (nothing written).
#[allow(clippy::too_many_arguments)]
pub async fn advance(
    ex: impl PgExecutor<'_>,
    role: &RoleState,
    next: RoleStep,
    document: Option<&str>,
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE revocation_roles SET step = $4, document = $5, attempts = 0, last_error = NULL,
            next_attempt_at = $7, updated_at = $6,
            applied_at = CASE WHEN $4 = 'applied' THEN $6 ELSE applied_at END
         WHERE role_arn = $1 AND step = $2 AND generation = $3",
    )
    .bind(&role.role_arn)
    .bind(role.step)
    .bind(role.generation)
    .bind(next)
    .bind(document)
    .bind(now)
    .bind(due)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed step and when it is tried again; `false` if the role moved on meanwhile.
pub async fn record_failure(
    ex: impl PgExecutor<'_>,
    role: &RoleState,
    error: &str,
    now: OffsetDateTime,
    retry_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE revocation_roles SET attempts = attempts + 1, last_error = left($4, 2000),
            next_attempt_at = $6, updated_at = $5
         WHERE role_arn = $1 AND step = $2 AND generation = $3",
    )
    .bind(&role.role_arn)
    .bind(role.step)
    .bind(role.generation)
    .bind(error)
    .bind(now)
    .bind(retry_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The advisory lock of the replica applying revocations: "vault_rv" as an integer.
const APPLY_LOCK: i64 = 0x7661_756c_745f_7276;

/// Takes the apply lock for this session, unless another session holds it.
pub async fn try_lock(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(APPLY_LOCK)
        .fetch_one(conn)
        .await
}

/// Releases the apply lock.
pub async fn unlock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
        .bind(APPLY_LOCK)
        .fetch_one(conn)
        .await?;
    Ok(())
}
