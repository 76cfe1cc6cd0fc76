//! Removing rows that can no longer be used: expired logins in flight, codes, device
//! authorizations and refresh tokens. The audit trail is never touched.

use sqlx::PgPool;
use time::OffsetDateTime;

/// Deletes expired short-lived state; returns how many rows went.
#[tracing::instrument(skip_all)]
pub async fn expired(pool: &PgPool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    for sql in [
        "DELETE FROM pending_logins WHERE expires_at < $1",
        "DELETE FROM authorization_codes WHERE expires_at < $1 - interval '1 day'",
        "DELETE FROM device_authorizations WHERE expires_at < $1 - interval '1 day'",
        "DELETE FROM refresh_tokens WHERE expires_at < $1",
        "DELETE FROM signing_keys WHERE retire_at < $1",
        "DELETE FROM ci_token_uses WHERE expires_at < $1",
    ] {
        removed += sqlx::query(sql)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
    }
    Ok(removed)
}
