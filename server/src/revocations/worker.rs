//! One replica at a time applies revocations: each tick takes a Postgres advisory lock on a
//! pooled connection, steps the due roles, and releases it. A replica that dies mid-tick loses
//! its session and the lock with it; the next tick anywhere resumes from the table.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::{sync::Notify, time::timeout};

use super::apply::Applier;
use crate::{clock, db};

/// How often due roles are looked for when nothing wakes the worker (pruning, retries, and
/// revocations recorded on another replica).
pub const POLL: Duration = Duration::from_secs(5);
/// How long taking or releasing the lock may take.
const LOCK_LIMIT: Duration = Duration::from_secs(5);
/// How long one tick may take (each IAM call has its own limit); a tick cut short leaves its
/// step unrecorded, and steps are idempotent.
const TICK_LIMIT: Duration = Duration::from_secs(120);

/// Ticks every `POLL`, or at once when `wake` is notified.
pub async fn run(pool: PgPool, applier: Arc<Applier>, wake: Arc<Notify>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL) => {},
            () = wake.notified() => {},
        }
        if let Err(e) = tick(&pool, &applier).await {
            tracing::warn!(error = %e, "revocation tick failed");
        }
    }
}

async fn tick(pool: &PgPool, applier: &Applier) -> Result<(), String> {
    let mut conn = timeout(LOCK_LIMIT, pool.acquire())
        .await
        .map_err(|_| "acquiring a connection timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let got = timeout(LOCK_LIMIT, db::revocations::try_lock(&mut conn))
        .await
        .map_err(|_| "trying the revocation lock timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if !got {
        return Ok(());
    }
    let ran = timeout(TICK_LIMIT, applier.tick(clock::now())).await;
    let released = timeout(LOCK_LIMIT, db::revocations::unlock(&mut conn)).await;
    if !matches!(released, Ok(Ok(()))) {
        // Closing the session is the sure way to free its lock.
        drop(conn.detach());
    }
    match ran {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("a revocation tick ran past {TICK_LIMIT:?}")),
    }
}
