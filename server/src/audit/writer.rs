//! The audit writer: requests hand it events and wait until they are committed. Events that
//! arrive together are committed in one transaction (group commit), which keeps one chain across
//! concurrent writers fast without ever answering before an event is durable.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::AuditEvent;
use crate::db::{self, DbError};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 512;

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
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<AuditEvent> = batch.iter().map(|j| j.event.clone()).collect();
        let result = commit(&pool, &events).await.map_err(|e| {
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

async fn commit(pool: &PgPool, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    db::audit::append(&mut tx, events).await?;
    tx.commit().await
}
