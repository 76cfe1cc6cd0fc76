//! Refresh tokens, stored only as SHA-256 digests and rotated on every use.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

#[tracing::instrument(skip_all)]
pub async fn insert(
    ex: impl PgExecutor<'_>,
    token_hash: &str,
    session_id: Uuid,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The outcome of presenting a refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// Unused until now; it is marked used and the session may get a new token.
    Fresh {
        session_id: Uuid,
    },
    /// Used before: a sign of theft; the caller must revoke the session.
    Reused {
        session_id: Uuid,
    },
    Expired,
    Unknown,
}

/// Marks the token used (atomically: of two concurrent presenters only one sees `Fresh`).
#[tracing::instrument(skip_all)]
pub async fn present(
    ex: &mut sqlx::PgConnection,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<Presented, sqlx::Error> {
    let fresh: Option<Uuid> = sqlx::query_scalar(
        "UPDATE refresh_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING session_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *ex)
    .await?;
    if let Some(session_id) = fresh {
        return Ok(Presented::Fresh { session_id });
    }
    let row: Option<(Uuid, Option<OffsetDateTime>)> =
        sqlx::query_as("SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *ex)
            .await?;
    Ok(match row {
        Some((session_id, Some(_))) => Presented::Reused { session_id },
        Some(_) => Presented::Expired,
        None => Presented::Unknown,
    })
}

/// The session a refresh token belongs to, used or not (for revocation).
#[tracing::instrument(skip_all)]
pub async fn session_of(
    ex: impl PgExecutor<'_>,
    token_hash: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(ex)
        .await
}
