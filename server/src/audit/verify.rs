//! Walking the chain: every event must sit at the next position, link to the previous hash, and
//! hash to what it stores. The first failure is reported exactly: which event and why.

use futures_util::TryStreamExt;
use sqlx::PgPool;
use vault_api::audit::{BrokenLink, VerifyReport};

use super::chain::{AuditRow, GENESIS};
use crate::db::{self, DbError};

/// Checks events one by one in chain order.
pub struct ChainWalk {
    expected_seq: i64,
    prev: Vec<u8>,
    pub checked: u64,
    pub last_seq: Option<i64>,
}

impl ChainWalk {
    /// Starts expecting `first_seq`, linked to `prev`.
    pub fn new(first_seq: i64, prev: Vec<u8>) -> Self {
        ChainWalk {
            expected_seq: first_seq,
            prev,
            checked: 0,
            last_seq: None,
        }
    }

    /// Checks the next row; `Err` is the first broken link.
    pub fn check(&mut self, row: &AuditRow) -> Result<(), BrokenLink> {
        let broken = |seq: i64, id: Option<String>, reason: String| BrokenLink {
            chain_seq: seq,
            id,
            reason,
        };
        if row.chain_seq != self.expected_seq {
            let missing = if row.chain_seq == self.expected_seq + 1 {
                format!("event {} is missing (deleted?)", self.expected_seq)
            } else {
                format!(
                    "events {}..{} are missing (deleted?)",
                    self.expected_seq,
                    row.chain_seq - 1
                )
            };
            return Err(broken(self.expected_seq, None, missing));
        }
        let id = Some(row.id.to_string());
        if row.prev_hash != self.prev {
            return Err(broken(
                row.chain_seq,
                id,
                "prev_hash does not match the hash of the event before it".into(),
            ));
        }
        if row.expected_hash(&self.prev).as_slice() != row.hash.as_slice() {
            return Err(broken(
                row.chain_seq,
                id,
                "contents were changed after it was written (hash mismatch)".into(),
            ));
        }
        self.prev.clone_from(&row.hash);
        self.expected_seq += 1;
        self.checked += 1;
        self.last_seq = Some(row.chain_seq);
        Ok(())
    }

    /// The hash of the last event checked.
    pub fn last_hash(&self) -> &[u8] {
        &self.prev
    }
}

/// Verifies the chain between `from` and `to` (inclusive; defaults: the whole stored chain).
pub async fn verify(
    pool: &PgPool,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<VerifyReport, DbError> {
    let (head_seq, head_hash) = db::audit::head(pool).await?;
    let stored_first = db::audit::first_seq(pool).await?.unwrap_or(head_seq + 1);
    let whole_tail = to.is_none();
    let to = to.unwrap_or(head_seq).min(head_seq);
    let from = from.unwrap_or(stored_first).max(1);
    let mut report = VerifyReport {
        ok: false,
        checked: 0,
        first_seq: None,
        last_seq: None,
        from_checkpoint: false,
        broken: None,
    };
    // Where the walk starts from: genesis, the event before the range, or a retention cut.
    let prev = if from == 1 {
        GENESIS.to_vec()
    } else if let Some(h) = db::audit::hash_at(pool, from - 1).await? {
        h
    } else if let Some(h) = db::audit::checkpoint(pool, from - 1).await? {
        report.from_checkpoint = true;
        h
    } else {
        report.broken = Some(BrokenLink {
            chain_seq: from - 1,
            id: None,
            reason: format!(
                "events before {from} are missing and no retention checkpoint records a cut there"
            ),
        });
        return Ok(report);
    };
    let mut walk = ChainWalk::new(from, prev);
    let mut rows = db::audit::stream_range(pool, from, to);
    while let Some(row) = rows.try_next().await? {
        if let Err(link) = walk.check(&row) {
            report.broken = Some(link);
            break;
        }
    }
    drop(rows);
    if report.broken.is_none() && walk.last_seq.unwrap_or(from - 1) < to {
        report.broken = Some(BrokenLink {
            chain_seq: walk.last_seq.unwrap_or(from - 1) + 1,
            id: None,
            reason: format!("events up to {to} are missing (deleted?)"),
        });
    }
    if report.broken.is_none()
        && whole_tail
        && walk.last_seq == Some(head_seq)
        && walk.last_hash() != head_hash
    {
        report.broken = Some(BrokenLink {
            chain_seq: head_seq,
            id: None,
            reason: "the last event does not match the recorded chain head".into(),
        });
    }
    if report.broken.is_none() && whole_tail {
        if let Some(beyond) = db::audit::max_seq(pool).await?.filter(|m| *m > head_seq) {
            report.broken = Some(BrokenLink {
                chain_seq: head_seq + 1,
                id: None,
                reason: format!(
                    "events up to {beyond} lie beyond the recorded chain head {head_seq} (was the head moved back?)"
                ),
            });
        }
    }
    report.ok = report.broken.is_none();
    report.checked = walk.checked;
    report.first_seq = (walk.checked > 0).then_some(from);
    report.last_seq = walk.last_seq;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        audit::{AuditEvent, Outcome},
        clock,
        request_meta::RequestMeta,
    };

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let e = AuditEvent::new(
                    "login",
                    Outcome::Success,
                    &RequestMeta::internal(),
                    clock::now(),
                );
                let row = AuditRow::seal(&e, seq, &prev);
                prev.clone_from(&row.hash);
                row
            })
            .collect()
    }

    fn walk(rows: &[AuditRow]) -> Result<u64, BrokenLink> {
        let mut w = ChainWalk::new(1, GENESIS.to_vec());
        for r in rows {
            w.check(r)?;
        }
        Ok(w.checked)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(walk(&chain(5)), Ok(5));
    }

    #[test]
    fn an_edited_event_is_reported_as_exactly_that_event() {
        let mut rows = chain(5);
        rows[2].reason = Some("edited".into());
        let broken = walk(&rows).unwrap_err();
        assert_eq!(broken.chain_seq, 3);
        assert!(broken.reason.contains("changed"));
    }

    #[test]
    fn a_deleted_event_is_reported_by_its_position() {
        let mut rows = chain(5);
        rows.remove(1);
        let broken = walk(&rows).unwrap_err();
        assert_eq!(broken.chain_seq, 2);
        assert!(broken.reason.contains("missing"));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let mut rows = chain(5);
        rows[2].reason = Some("edited".into());
        rows[2].hash = rows[2].expected_hash(&rows[1].hash).to_vec();
        let broken = walk(&rows).unwrap_err();
        assert_eq!(broken.chain_seq, 4);
    }
}
