//! One rotator for the whole deployment: the replica holding a Postgres advisory lock runs the
//! rotation state machines. If it dies, its session ends, the lock is free, and another replica
//! takes over the same (persisted) rotation on its next tick.

use std::{sync::Arc, time::Duration};

use sqlx::{Connection, PgConnection, PgPool};
use tokio::{sync::Notify, time::timeout};

use super::rotation::Rotator;
use crate::{clock, db};

/// How long checking or taking the lock may take: a stopped Postgres never answers, and a
/// leader stuck on it would never notice that it lost the lock.
const LOCK_CHECK_LIMIT: Duration = Duration::from_secs(5);
/// How long one tick of all rotators may take (AWS calls included, each with its own timeout);
/// a tick cut short leaves its step unrecorded, and steps are idempotent.
const TICK_LIMIT: Duration = Duration::from_secs(300);

/// Ticks the rotators whenever this replica holds the lock; `wake` runs a tick early.
pub async fn lead(
    pool: PgPool,
    rotators: Vec<Arc<Rotator>>,
    wake: Arc<Notify>,
    interval: Duration,
) {
    let mut held: Option<PgConnection> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {},
            () = wake.notified() => {},
        }
        if let Some(conn) = held.as_mut() {
            if !matches!(timeout(LOCK_CHECK_LIMIT, conn.ping()).await, Ok(Ok(()))) {
                // Dropping the connection ends its session, and the lock with it, once Postgres
                // sees the close; until then no replica can take it, so none rotates twice.
                tracing::warn!("lost the rotation lock's connection");
                held = None;
            }
        }
        if held.is_none() {
            match timeout(LOCK_CHECK_LIMIT, try_lock(&pool)).await {
                Ok(Ok(Some(conn))) => {
                    tracing::info!("this replica now runs key rotation");
                    held = Some(conn);
                }
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot try the rotation lock");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(limit = ?LOCK_CHECK_LIMIT, "trying the rotation lock timed out");
                    continue;
                }
            }
        }
        let tick = async {
            for rotator in &rotators {
                if let Err(e) = rotator.tick(clock::now()).await {
                    tracing::warn!(identity = %rotator.identity.name, error = %e, "rotation tick failed");
                }
            }
        };
        if timeout(TICK_LIMIT, tick).await.is_err() {
            tracing::warn!(limit = ?TICK_LIMIT, "a rotation tick timed out; the next tick resumes it");
        }
    }
}

/// A dedicated session holding the lock, or `None` if another replica has it.
async fn try_lock(pool: &PgPool) -> Result<Option<PgConnection>, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    let got = db::keys::try_rotation_lock(&mut conn).await?;
    Ok(got.then_some(conn))
}
