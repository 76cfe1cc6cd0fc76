//! Principals: the people, CI jobs and the server itself that act through team-vault.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// Creates or refreshes the principal known by (`issuer`, `subject`) and returns its id.
#[tracing::instrument(skip_all)]
pub async fn upsert(
    ex: impl PgExecutor<'_>,
    kind: &str,
    issuer: &str,
    subject: &str,
    display: &str,
    now: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO principals (id, kind, issuer, subject, display, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (issuer, subject)
         DO UPDATE SET display = EXCLUDED.display, last_seen_at = EXCLUDED.last_seen_at
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(kind)
    .bind(issuer)
    .bind(subject)
    .bind(display)
    .bind(now)
    .fetch_one(ex)
    .await
}
