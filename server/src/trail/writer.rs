//! The audit writer: requests hand it events and wait until they are committed. Events that
//! arrive together are committed in one transaction (group commit), which keeps one chain across
//! concurrent writers fast without ever answering before an event is durable.
//!
//! One event Postgres refuses fails only itself: a refused batch is retried one event at a time,
//! in order, still chained, so the others commit. When the database is unreachable the batch
//! fails at once (retrying each event could not succeed), and every commit attempt is bounded by
//! [`COMMIT_TIMEOUT`], so a hung Postgres cannot hold the writer forever.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::audit::AuditEvent;
use crate::db::{self, DbError};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 512;
/// Optimistic attempts before taking the head lock.
const OPTIMISTIC_TRIES: usize = 8;
/// Longest one commit attempt (a batch, or one event of a refused batch) may take.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// An event could not be committed. The cause is logged by the writer, once per event, and
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

/// Why a commit attempt did not land.
enum Failed {
    /// Postgres answered and refused (a constraint, a trigger, a value it cannot store).
    Refused(DbError),
    /// Postgres is unreachable, or did not answer within [`COMMIT_TIMEOUT`].
    Unavailable(String),
}

impl Failed {
    fn cause(&self) -> String {
        match self {
            Failed::Refused(e) => e.to_string(),
            Failed::Unavailable(cause) => cause.clone(),
        }
    }
}

async fn run(pool: PgPool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // This writer's last known head: usually still current, so a batch costs one statement.
    let mut head: Option<(i64, Vec<u8>)> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<AuditEvent> = batch.iter().map(|j| j.event.clone()).collect();
        let results = match bounded_commit(&pool, &events, &mut head).await {
            Ok(()) => vec![Ok(()); events.len()],
            Err(Failed::Unavailable(cause)) => {
                events.iter().for_each(|e| log_failed(e, &cause));
                vec![Err(WriteFailed); events.len()]
            }
            Err(Failed::Refused(e)) if events.len() == 1 => {
                log_failed(&events[0], &e.to_string());
                vec![Err(WriteFailed)]
            }
            Err(Failed::Refused(_)) => one_by_one(&pool, &events, &mut head).await,
        };
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.done.send(result);
        }
    }
}

/// A refused batch, retried one event at a time in order: each event is chained onto the last
/// one committed, so only the events Postgres refuses fail. Once the database turns out to be
/// unavailable, the rest of the batch fails without further tries.
async fn one_by_one(
    pool: &PgPool,
    events: &[AuditEvent],
    head: &mut Option<(i64, Vec<u8>)>,
) -> Vec<Result<(), WriteFailed>> {
    let mut results = Vec::with_capacity(events.len());
    let mut unavailable: Option<String> = None;
    for event in events {
        if let Some(cause) = &unavailable {
            log_failed(event, cause);
            results.push(Err(WriteFailed));
            continue;
        }
        let request_id = event.request_id.as_deref().unwrap_or("-");
        tracing::debug!(%request_id, batch = events.len(), "audit batch refused; committing this event alone");
        let result = bounded_commit(pool, std::slice::from_ref(event), head).await;
        results.push(result.map_err(|failed| {
            log_failed(event, &failed.cause());
            if let Failed::Unavailable(cause) = failed {
                unavailable = Some(cause);
            }
            WriteFailed
        }));
    }
    results
}

/// The one log of the cause, per event, under the request that raised it.
fn log_failed(event: &AuditEvent, cause: &str) {
    let request_id = event.request_id.as_deref().unwrap_or("-");
    tracing::error!(%request_id, action = event.action, error = %cause, "audit event not committed");
}

/// [`commit`] within [`COMMIT_TIMEOUT`]. On any failure the cached head is dropped: the
/// attempt may have moved it, or it may be stale.
async fn bounded_commit(
    pool: &PgPool,
    events: &[AuditEvent],
    head: &mut Option<(i64, Vec<u8>)>,
) -> Result<(), Failed> {
    let result = tokio::time::timeout(COMMIT_TIMEOUT, commit(pool, events, head)).await;
    let failed = match result {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => match DbError::from(e) {
            DbError::Unavailable(e) => Failed::Unavailable(format!("database unavailable: {e}")),
            DbError::TimedOut(e) => Failed::Unavailable(format!("the commit timed out: {e}")),
            other => Failed::Refused(other),
        },
        Err(_) => Failed::Unavailable(format!(
            "the database did not commit within {}s",
            COMMIT_TIMEOUT.as_secs()
        )),
    };
    *head = None;
    Err(failed)
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
