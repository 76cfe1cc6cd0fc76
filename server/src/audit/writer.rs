//! The audit writer: requests hand it events and wait until they are committed. Events that
//! arrive together are committed in one transaction (group commit), which keeps one chain across
//! concurrent writers fast without ever answering before an event is durable.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::AuditEvent;
use crate::db::{self, DbError};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 512;
/// Optimistic attempts before taking the head lock.
const OPTIMISTIC_TRIES: usize = 8;

/// Why an event could not be committed (cloneable: one failure answers a whole batch).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct WriteFailed {
    pub unavailable: bool,
    pub message: String,
}

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
        let stopped = || WriteFailed {
            unavailable: true,
            message: "the audit writer has stopped".into(),
        };
        self.jobs
            .send(Job { event, done })
            .await
            .map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }
}

async fn run(pool: PgPool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // This writer's last known head: usually still current, so a batch costs one statement.
    let mut head: Option<(i64, Vec<u8>)> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<AuditEvent> = batch.iter().map(|j| j.event.clone()).collect();
        let result = commit(&pool, &events, &mut head).await.map_err(|e| {
            head = None;
            let e = DbError::from(e);
            tracing::error!(error = %e, events = events.len(), "audit commit failed");
            WriteFailed {
                unavailable: matches!(e, DbError::Unavailable(_)),
                message: e.to_string(),
            }
        });
        for job in batch.drain(..) {
            let _ = job.done.send(result.clone());
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
        let rows = db::audit::seal_after(events, seq, hash.clone());
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
