//! The audit writer: requests hand it events and wait until they are committed. Events that
//! arrive together are committed in one transaction (group commit), which keeps one chain across
//! concurrent writers fast without ever answering before an event is durable.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::audit::AuditEvent;
use crate::db::{self, DbError};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 512;
/// Optimistic attempts before taking the head lock.
const OPTIMISTIC_TRIES: usize = 8;

/// An event could not be committed. The cause is logged by the writer, once per batch, and
/// is not carried further: callers answer with a generic refusal (see `error`).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the audit event could not be committed")]
pub struct WriteFailed;

struct Job {
    event: AuditEvent,
    done: oneshot::Sender<Result<(), WriteFailed>>,
}

/// Handle to this process's audit writer task.
#[derive(Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<Job>,
}

impl AuditWriter {
    /// Starts the writer task on `pool`.
    pub fn start(pool: PgPool) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool, rx));
        AuditWriter { jobs }
    }

    /// Returns once `event` is committed, or says why it was not.
    pub async fn write(&self, event: AuditEvent) -> Result<(), WriteFailed> {
        let (done, wait) = oneshot::channel();
        self.jobs.send(Job { event, done }).await.map_err(stopped)?;
        wait.await.map_err(stopped)?
    }
}

/// The writer task is gone (the server is shutting down): nothing can be committed.
fn stopped<E>(_: E) -> WriteFailed {
    tracing::error!("the audit writer has stopped");
    WriteFailed
}

async fn run(pool: PgPool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // This writer's last known head: usually still current, so a batch costs one statement.
    let mut head: Option<(i64, Vec<u8>)> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<AuditEvent> = batch.iter().map(|j| j.event.clone()).collect();
        let result = commit(&pool, &events, &mut head).await.map_err(|e| {
            head = None;
            // The one log of the cause, per event, under the request that raised it.
            let cause = DbError::from(e).to_string();
            for event in &events {
                let request_id = event.request_id.as_deref().unwrap_or("-");
                tracing::error!(%request_id, action = event.action, error = %cause, "audit event not committed");
            }
            WriteFailed
        });
        for job in batch.drain(..) {
            let _ = job.done.send(result);
        }
    }
}

/// Optimistic append against the cached head; after a few lost races (another replica
/// writing), falls back to locking the head inside a transaction.
async fn commit(
    pool: &PgPool,
    events: &[AuditEvent],
    head: &mut Option<(i64, Vec<u8>)>,
) -> Result<(), sqlx::Error> {
    for _ in 0..OPTIMISTIC_TRIES {
        let (seq, hash) = match head.take() {
            Some(h) => h,
            None => db::audit::head(pool).await?,
        };
        let rows = crate::audit::chain::seal_after(events, seq, hash.clone());
        if db::audit::append_if_head(pool, &rows, seq, &hash).await? {
            let last = rows.last().expect("a batch is never empty");
            *head = Some((last.chain_seq, last.hash.clone()));
            return Ok(());
        }
    }
    let mut tx = pool.begin().await?;
    db::audit::append(&mut tx, events).await?;
    tx.commit().await
}
