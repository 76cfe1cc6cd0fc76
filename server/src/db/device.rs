//! Device authorizations (RFC 8628): a headless CLI polls while the person approves elsewhere.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a device authorization stands (stored as text in `device_authorizations.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum DeviceStatus {
    /// Waiting for the person to log in for it.
    Pending,
    /// The person logged in; the device may collect its tokens once.
    Approved,
    /// The person refused.
    Denied,
    /// The device collected its tokens.
    Consumed,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: Uuid,
    pub status: DeviceStatus,
    pub session_id: Option<Uuid>,
    pub interval_seconds: i32,
    pub last_polled_at: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
    /// The OAuth client that asked for the device code, the only one that may redeem it.
    pub client_id: String,
}

/// A new device authorization, with the client that asked for it.
pub struct NewDevice<'a> {
    pub device_code_hash: &'a str,
    pub user_code_hash: &'a str,
    pub interval_seconds: i32,
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub client_id: &'a str,
}

#[tracing::instrument(skip_all)]
pub async fn insert(
    ex: impl PgExecutor<'_>,
    d: &NewDevice<'_>,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO device_authorizations
            (id, device_code_hash, user_code_hash, status, interval_seconds, created_at, expires_at,
             client_addr, user_agent, client_id)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(d.device_code_hash)
    .bind(d.user_code_hash)
    .bind(d.interval_seconds)
    .bind(now)
    .bind(expires_at)
    .bind(d.client_addr)
    .bind(d.user_agent)
    .bind(d.client_id)
    .execute(ex)
    .await?;
    Ok(id)
}

/// A pending authorization as its confirm page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingDevice {
    pub id: Uuid,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: OffsetDateTime,
    /// The OAuth client that asked; the login approved for it belongs to that client.
    pub client_id: String,
}

/// The pending, unexpired authorization a person typed the code of.
#[tracing::instrument(skip_all)]
pub async fn find_pending_by_user_code(
    ex: impl PgExecutor<'_>,
    user_code_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<PendingDevice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, client_addr, user_agent, created_at, client_id FROM device_authorizations
         WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2",
    )
    .bind(user_code_hash)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Records that the person logged in for this device; returns false if it is no longer pending.
#[tracing::instrument(skip_all)]
pub async fn approve(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE device_authorizations SET status = 'approved', session_id = $2
         WHERE id = $1 AND status = 'pending' AND expires_at > $3",
    )
    .bind(id)
    .bind(session_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the person refused this device; returns false if it is no longer pending.
#[tracing::instrument(skip_all)]
pub async fn deny(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE device_authorizations SET status = 'denied'
         WHERE id = $1 AND status = 'pending' AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `slow_down` (RFC 8628 §3.5): the device must now wait `step` seconds longer between polls,
/// up to `max` seconds.
#[tracing::instrument(skip_all)]
pub async fn slow_down(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    step: i32,
    max: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE device_authorizations SET interval_seconds = LEAST(interval_seconds + $2, $3)
         WHERE id = $1",
    )
    .bind(id)
    .bind(step)
    .bind(max)
    .execute(ex)
    .await?;
    Ok(())
}

/// Reads the authorization for a poll and stamps the poll time (for `slow_down`).
#[tracing::instrument(skip_all)]
pub async fn poll(
    ex: impl PgExecutor<'_>,
    device_code_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<DeviceRow>, sqlx::Error> {
    // The CTE returns the row as it was before this poll, so the previous poll time is visible.
    sqlx::query_as(
        "WITH before AS (SELECT * FROM device_authorizations WHERE device_code_hash = $1 FOR UPDATE)
         UPDATE device_authorizations d SET last_polled_at = $2
         FROM before WHERE d.id = before.id
         RETURNING before.id, before.status, before.session_id, before.interval_seconds,
                   before.last_polled_at, before.expires_at, before.client_id",
    )
    .bind(device_code_hash)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Consumes an approved authorization: the device gets its tokens exactly once.
#[tracing::instrument(skip_all)]
pub async fn consume(ex: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE device_authorizations SET status = 'consumed'
         WHERE id = $1 AND status = 'approved' RETURNING session_id",
    )
    .bind(id)
    .fetch_optional(ex)
    .await
    .map(Option::flatten)
}
