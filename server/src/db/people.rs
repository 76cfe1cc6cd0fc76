//! Turning principals off and on (`vault admin disable` / `enable`), and what the checks read.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::principal::Principal;

/// Marks every principal displayed as `display` disabled since `now` (kept if already), or
/// enabled when `now` is `None`; returns their ids (none: no such principal).
#[tracing::instrument(skip_all)]
pub async fn set_disabled(
    ex: impl PgExecutor<'_>,
    display: &str,
    now: Option<OffsetDateTime>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE principals
         SET disabled_at = CASE WHEN $2::timestamptz IS NULL THEN NULL
                                ELSE COALESCE(disabled_at, $2) END
         WHERE display = $1 AND kind <> 'system'
         RETURNING id",
    )
    .bind(display)
    .bind(now)
    .fetch_all(ex)
    .await
}

/// Announces every unrevoked session of these principals on the session channel (as the
/// `login_sessions` trigger does for a changed row), so every replica forgets what it cached
/// about them; returns their ids. Sent when the transaction commits.
#[tracing::instrument(skip_all)]
pub async fn announce_sessions_of(
    ex: impl PgExecutor<'_>,
    principals: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        // The channel of `sessions::CHANNEL` (named here so db/ imports nothing above it).
        "SELECT s.id FROM login_sessions s, LATERAL pg_notify('vault_session_revoked', s.id::text) AS n
         WHERE s.principal_id = ANY($1) AND s.revoked_at IS NULL",
    )
    .bind(principals)
    .fetch_all(ex)
    .await
}

/// The principals displayed as `display` (not the server's own), oldest first, each with
/// whether an older one shares its name (as `sts::session_name_of` needs).
#[tracing::instrument(skip_all)]
pub async fn named(ex: impl PgExecutor<'_>, display: &str) -> Result<Vec<Principal>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.kind, p.display,
                EXISTS (SELECT 1 FROM principals o
                         WHERE o.display = p.display AND (o.created_at, o.id) < (p.created_at, p.id))
                  AS display_shared
         FROM principals p WHERE p.display = $1 AND p.kind <> 'system'
         ORDER BY p.created_at, p.id",
    )
    .bind(display)
    .fetch_all(ex)
    .await
}

/// Revokes every live session of these principals (the `login_sessions` trigger tells every
/// replica) and announces the principals on `vault_principal_revoked` (`sessions::
/// PRINCIPAL_CHANNEL`) so replicas drop what they keep per principal; returns the sessions
/// revoked. Notices go out when the transaction commits.
#[tracing::instrument(skip_all)]
pub async fn revoke_sessions_of(
    conn: &mut sqlx::PgConnection,
    principals: &[Uuid],
    reason: &str,
    now: OffsetDateTime,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let revoked = sqlx::query_scalar(
        "UPDATE login_sessions SET revoked_at = $2, revoke_reason = $3
         WHERE principal_id = ANY($1) AND revoked_at IS NULL
         RETURNING id",
    )
    .bind(principals)
    .bind(now)
    .bind(reason)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "SELECT pg_notify('vault_principal_revoked', id::text) FROM unnest($1::uuid[]) AS id",
    )
    .bind(principals)
    .execute(&mut *conn)
    .await?;
    Ok(revoked)
}
