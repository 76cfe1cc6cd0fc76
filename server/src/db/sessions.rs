//! Login sessions: one per login; revoking one invalidates every token derived from it.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::principal::{Actor, Principal};

/// A live login session joined with its principal: what an access token stands for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveSession {
    pub session_id: Uuid,
    #[sqlx(flatten)]
    pub principal: Principal,
    pub groups: Vec<String>,
    pub expires_at: OffsetDateTime,
    /// For CI sessions: the `[[ci_issuers]]` name and the verified claims of the job.
    pub ci_issuer: Option<String>,
    pub ci_claims: Option<serde_json::Value>,
}

impl ActiveSession {
    /// The session's principal acting through it, for audit events.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            principal: &self.principal,
            session_id: self.session_id,
        }
    }
}

/// Opens a login session for `principal_id` with the groups the IdP vouched for.
#[tracing::instrument(skip_all)]
pub async fn create(
    ex: impl PgExecutor<'_>,
    principal_id: Uuid,
    groups: &[String],
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO login_sessions (id, principal_id, groups, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(principal_id)
    .bind(groups)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(id)
}

/// Opens a session for a CI job, remembering the issuer and claims its policy matches on.
#[tracing::instrument(skip_all)]
pub async fn create_ci(
    ex: impl PgExecutor<'_>,
    principal_id: Uuid,
    issuer: &str,
    claims: &serde_json::Value,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO login_sessions (id, principal_id, groups, created_at, expires_at, ci_issuer, ci_claims)
         VALUES ($1, $2, '{}', $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(principal_id)
    .bind(now)
    .bind(expires_at)
    .bind(issuer)
    .bind(claims)
    .execute(ex)
    .await?;
    Ok(id)
}

/// The session if it exists, is not revoked and has not expired at `now`.
#[tracing::instrument(skip_all)]
pub async fn find_active(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<ActiveSession>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS session_id, p.id, p.kind, p.display, s.groups, s.expires_at,
                s.ci_issuer, s.ci_claims
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(session_id)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Revokes the session; returns whether it was live before.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE login_sessions SET revoked_at = $2, revoke_reason = $3
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(now)
    .bind(reason)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
