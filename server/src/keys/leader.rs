//! One rotator for the whole deployment: the replica holding a Postgres advisory lock runs the
//! rotation state machines. If it dies, its session ends, the lock is free, and another replica
//! takes over the same (persisted) rotation on its next tick.

use std::{sync::Arc, time::Duration};

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Notify;

use super::rotation::Rotator;
use crate::clock;

/// The advisory lock key: "vault_kr" as an integer.
const LOCK_KEY: i64 = 0x7661_756c_745f_6b72;

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
            if conn.ping().await.is_err() {
                tracing::warn!("lost the rotation lock's connection");
                held = None;
            }
        }
        if held.is_none() {
            match try_lock(&pool).await {
                Ok(Some(conn)) => {
                    tracing::info!("this replica now runs key rotation");
                    held = Some(conn);
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot try the rotation lock");
                    continue;
                }
            }
        }
        for rotator in &rotators {
            if let Err(e) = rotator.tick(clock::now()).await {
                tracing::warn!(identity = %rotator.identity.name, error = %e, "rotation tick failed");
            }
        }
    }
}

/// A dedicated session holding the lock, or `None` if another replica has it.
async fn try_lock(pool: &PgPool) -> Result<Option<PgConnection>, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut conn)
        .await?;
    Ok(got.then_some(conn))
}
