//! CI token replay protection: a `jti` is accepted once per issuer, remembered until it expires.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// Records the token's `jti`; `false` means it was seen before (a replay).
#[tracing::instrument(skip_all)]
pub async fn first_use(
    ex: impl PgExecutor<'_>,
    issuer: &str,
    jti: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO ci_token_uses (issuer, jti, used_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(issuer)
    .bind(jti)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
