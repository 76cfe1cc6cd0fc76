//! Principals: the people, CI jobs and the server itself that act through team-vault.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::principal::PrincipalKind;

/// A principal as a login finds it: its id, and whether an admin disabled it (read in the same
/// statement, so a login costs no extra query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Known {
    pub id: Uuid,
    pub disabled: bool,
}

/// Creates or refreshes the principal known by (`issuer`, `subject`).
#[tracing::instrument(skip_all)]
pub async fn upsert(
    ex: impl PgExecutor<'_>,
    kind: PrincipalKind,
    issuer: &str,
    subject: &str,
    display: &str,
    now: OffsetDateTime,
) -> Result<Known, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO principals (id, kind, issuer, subject, display, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (issuer, subject)
         DO UPDATE SET display = EXCLUDED.display, last_seen_at = EXCLUDED.last_seen_at
         RETURNING id, disabled_at IS NOT NULL AS disabled",
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

/// The principal known by (`issuer`, `subject`), created if new. Unlike [`upsert`] it
/// never updates an existing row, so concurrent logins of one principal do not wait on each other.
#[tracing::instrument(skip_all)]
pub async fn ensure(
    conn: &mut sqlx::PgConnection,
    kind: PrincipalKind,
    issuer: &str,
    subject: &str,
    now: OffsetDateTime,
) -> Result<Known, sqlx::Error> {
    let created: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO principals (id, kind, issuer, subject, display, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $4, $5, $5)
         ON CONFLICT (issuer, subject) DO NOTHING
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(kind)
    .bind(issuer)
    .bind(subject)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = created {
        return Ok(Known {
            id,
            disabled: false,
        });
    }
    // A separate statement: its snapshot sees a row another transaction just committed.
    sqlx::query_as(
        "SELECT id, disabled_at IS NOT NULL AS disabled FROM principals
         WHERE issuer = $1 AND subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_one(&mut *conn)
    .await
}
