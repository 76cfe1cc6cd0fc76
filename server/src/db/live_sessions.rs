//! Live logins as admins see them (`vault admin sessions`): who, from where, since when.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::principal::PrincipalKind;

/// One live login session with its principal.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveSession {
    pub session_id: Uuid,
    pub display: String,
    pub kind: PrincipalKind,
    pub created_at: OffsetDateTime,
    pub last_refresh_at: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// Up to `limit` live (unrevoked, unexpired at `now`) sessions, newest first, of the principals
/// displayed as `display` when given.
#[tracing::instrument(skip_all)]
pub async fn list(
    ex: impl PgExecutor<'_>,
    display: Option<&str>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<LiveSession>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS session_id, p.display, p.kind, s.created_at, s.last_refresh_at,
                s.expires_at, s.client_addr, s.user_agent
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
         WHERE s.revoked_at IS NULL AND s.expires_at > $1
           AND ($2::text IS NULL OR p.display = $2)
         ORDER BY s.created_at DESC, s.id DESC
         LIMIT $3",
    )
    .bind(now)
    .bind(display)
    .bind(limit)
    .fetch_all(ex)
    .await
}
