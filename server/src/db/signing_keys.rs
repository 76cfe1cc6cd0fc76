//! Public halves of the access-token signing keys, shared by every replica through Postgres.

use sqlx::PgExecutor;
use time::OffsetDateTime;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicKeyRow {
    pub kid: String,
    pub algorithm: String,
    pub public_key: String,
}

#[tracing::instrument(skip_all)]
pub async fn insert(
    ex: impl PgExecutor<'_>,
    key: &PublicKeyRow,
    now: OffsetDateTime,
    retire_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, public_key, created_at, retire_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.public_key)
    .bind(now)
    .bind(retire_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Keys that may still have live tokens at `now`.
#[tracing::instrument(skip_all)]
pub async fn live(
    ex: impl PgExecutor<'_>,
    now: OffsetDateTime,
) -> Result<Vec<PublicKeyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kid, algorithm, public_key FROM signing_keys WHERE retire_at > $1 ORDER BY created_at DESC",
    )
    .bind(now)
    .fetch_all(ex)
    .await
}

/// One live key by id.
#[tracing::instrument(skip_all)]
pub async fn find_live(
    ex: impl PgExecutor<'_>,
    kid: &str,
    now: OffsetDateTime,
) -> Result<Option<PublicKeyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kid, algorithm, public_key FROM signing_keys WHERE kid = $1 AND retire_at > $2",
    )
    .bind(kid)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Shortens a key's life once nothing new is signed with it.
#[tracing::instrument(skip_all)]
pub async fn retire(
    ex: impl PgExecutor<'_>,
    kid: &str,
    retire_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE signing_keys SET retire_at = LEAST(retire_at, $2) WHERE kid = $1")
        .bind(kid)
        .bind(retire_at)
        .execute(ex)
        .await?;
    Ok(())
}
