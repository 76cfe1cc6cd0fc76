//! Retention: prune events older than the configured period, leaving a checkpoint event that
//! records the hash at the cut so the remaining chain still verifies.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::audit::AuditEvent;
use crate::db::{self, audit::Pruned};

/// One pruning pass: everything older than `now - retention` goes, and an `audit_prune` event
/// naming the cut is appended in the same transaction.
pub async fn prune_once(
    pool: &PgPool,
    retention: Duration,
    now: OffsetDateTime,
) -> Result<Option<Pruned>, sqlx::Error> {
    let cutoff = now - retention;
    let mut tx = pool.begin().await?;
    db::allow_long_statements(&mut tx).await?;
    let Some(pruned) = db::audit::prune(&mut tx, cutoff).await? else {
        return Ok(None);
    };
    let event = AuditEvent::system("audit_prune", now)
        .reason(format!("retention: events before {cutoff} pruned"))
        .detail("cut_seq", pruned.cut_seq)
        .detail("cut_hash", hex::encode(&pruned.cut_hash))
        .detail("pruned", pruned.pruned);
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(Some(pruned))
}
