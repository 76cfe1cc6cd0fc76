//! The append-only audit table.

use sqlx::PgExecutor;

use crate::audit::AuditEvent;

/// Appends one event. With a pool this commits on return; inside a transaction, with it.
#[tracing::instrument(skip_all, fields(action = e.action))]
pub async fn insert(ex: impl PgExecutor<'_>, e: &AuditEvent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, principal_id, principal, principal_kind,
            profile, role_arn, session_name, source_identity, access_key_id, expiration, duration_seconds,
            reason, client_addr, user_agent, request_id, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(e.id)
    .bind(e.occurred_at)
    .bind(e.action)
    .bind(e.outcome.as_str())
    .bind(e.principal_id)
    .bind(&e.principal)
    .bind(&e.principal_kind)
    .bind(&e.profile)
    .bind(&e.role_arn)
    .bind(&e.session_name)
    .bind(&e.source_identity)
    .bind(&e.access_key_id)
    .bind(e.expiration)
    .bind(e.duration_seconds)
    .bind(&e.reason)
    .bind(&e.client_addr)
    .bind(&e.user_agent)
    .bind(&e.request_id)
    .bind(&e.details)
    .execute(ex)
    .await?;
    Ok(())
}
