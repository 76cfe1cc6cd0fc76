//! Walking the chain: every event must sit at the next position, link to the previous hash, and
//! hash to what it stores. The first failure is reported exactly: which event and why.
//!
//! Events stream from Postgres as binary COPY tuples whose leading bytes are the version 2
//! canonical encoding, so checking one costs a SHA-256 and no decoding. A long range is split
//! into parts checked at once on separate connections (Postgres then works on every core); each
//! part starts from the hash stored just before it, and the link into that hash is checked by
//! the part before, so the earliest part that fails names the chain's first broken link.

use std::ops::ControlFlow;

use futures_util::TryStreamExt;
use sqlx::PgPool;
use uuid::Uuid;
use vault_api::audit::{BrokenLink, VerifyReport};

use crate::audit::chain::{link, v2, GENESIS};
use crate::db::{self, DbError};

mod copy;

use copy::{CopyReader, Tuple};

/// Ranges shorter than this are checked in one part.
const MIN_PART: i64 = 50_000;

/// Pooled connections all verifications of this process hold at once, at most: they come out
/// of the server's bounded pool, and must leave most of it to requests.
const MAX_CONNECTIONS: usize = 4;
static CONNECTIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONNECTIONS);

/// Checks events one by one in chain order.
struct ChainWalk {
    expected_seq: i64,
    /// The hash the next event must link to (`None`: not known, taken from the first event).
    prev: Option<Vec<u8>>,
    checked: u64,
    last_seq: Option<i64>,
}

fn missing(first: i64, last: i64) -> String {
    if first == last {
        format!("event {first} is missing (deleted?)")
    } else {
        format!("events {first}..{last} are missing (deleted?)")
    }
}

impl ChainWalk {
    /// Starts expecting `first_seq`, linked to `prev` (`None`: whatever the first event says).
    fn starting(first_seq: i64, prev: Option<Vec<u8>>) -> Self {
        ChainWalk {
            expected_seq: first_seq,
            prev,
            checked: 0,
            last_seq: None,
        }
    }

    /// Checks the next event as Postgres sent it.
    fn check_tuple(&mut self, t: &Tuple<'_>) -> Result<(), BrokenLink> {
        let Some(seq) = t.chain_seq() else {
            return Err(BrokenLink {
                chain_seq: self.expected_seq,
                id: None,
                reason: "an event has a malformed chain position".into(),
            });
        };
        self.check_link(seq, t.id(), t.prev_hash(), t.hash(), |prev| {
            match t.hash_version() {
                Some(v2::VERSION) => Ok(link(prev, t.canonical)),
                version => t
                    .to_row()
                    .ok_or_else(|| "a field of the event cannot be decoded".to_owned())?
                    .expected_hash(prev)
                    .ok_or_else(|| unknown_version(version.unwrap_or_default())),
            }
        })
    }

    fn check_link(
        &mut self,
        seq: i64,
        id: Option<Uuid>,
        prev_hash: &[u8],
        hash: &[u8],
        expected: impl FnOnce(&[u8]) -> Result<[u8; 32], String>,
    ) -> Result<(), BrokenLink> {
        if seq != self.expected_seq {
            return Err(BrokenLink {
                chain_seq: self.expected_seq,
                id: None,
                reason: missing(self.expected_seq, seq - 1),
            });
        }
        let broken = |reason: String| BrokenLink {
            chain_seq: seq,
            id: id.map(|id| id.to_string()),
            reason,
        };
        let prev = self.prev.as_deref().unwrap_or(prev_hash);
        if prev_hash != prev {
            return Err(broken(
                "prev_hash does not match the hash of the event before it".into(),
            ));
        }
        match expected(prev) {
            Ok(h) if h.as_slice() == hash => {}
            Ok(_) => {
                return Err(broken(
                    "contents were changed after it was written (hash mismatch)".into(),
                ))
            }
            Err(why) => return Err(broken(why)),
        }
        self.prev = Some(hash.to_vec());
        self.expected_seq += 1;
        self.checked += 1;
        self.last_seq = Some(seq);
        Ok(())
    }

    /// The hash of the last event checked.
    fn last_hash(&self) -> &[u8] {
        self.prev.as_deref().unwrap_or_default()
    }
}

fn unknown_version(version: i16) -> String {
    format!("its hash_version {version} is not an encoding this server knows")
}

/// What checking one part of a range found.
struct Part {
    checked: u64,
    last_seq: Option<i64>,
    last_hash: Vec<u8>,
    broken: Option<BrokenLink>,
}

/// Checks `from..=to` on a connection of its own, starting from `prev`.
async fn check_part(
    pool: PgPool,
    from: i64,
    to: i64,
    prev: Option<Vec<u8>>,
) -> Result<Part, DbError> {
    let _permit = CONNECTIONS
        .acquire()
        .await
        .map_err(|e| DbError::Other(sqlx::Error::Protocol(e.to_string())))?;
    // A pooled connection (counted in the pool's bound), closed rather than returned: stopping
    // at a broken link, or the admin hanging up, leaves the rest of the COPY queued on it.
    let mut conn = pool.acquire().await?;
    conn.close_on_drop();
    // One COPY of a part of a long trail runs for seconds to minutes: in a transaction of its
    // own, with the bound of a whole-trail job rather than a request's.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    db::allow_long_statements(&mut tx).await?;
    let mut walk = ChainWalk::starting(from, prev);
    let mut broken = None;
    let mut reader = CopyReader::default();
    {
        let mut chunks = tx.copy_out_raw(&copy::statement(from, to)).await?;
        while let Some(chunk) = chunks.try_next().await? {
            let flow = reader
                .feed(&chunk, |t| match walk.check_tuple(t) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(link) => {
                        broken = Some(link);
                        ControlFlow::Break(())
                    }
                })
                .map_err(|e| DbError::Other(sqlx::Error::Protocol(e.to_string())))?;
            if flow.is_break() {
                break;
            }
        }
    }
    if broken.is_none() {
        if !reader.finished() {
            return Err(DbError::Other(sqlx::Error::Protocol(
                "the COPY stream ended without its trailer".into(),
            )));
        }
        let last = walk.last_seq.unwrap_or(from - 1);
        if last < to {
            broken = Some(BrokenLink {
                chain_seq: last + 1,
                id: None,
                reason: missing(last + 1, to),
            });
        }
    }
    Ok(Part {
        checked: walk.checked,
        last_seq: walk.last_seq,
        last_hash: walk.last_hash().to_vec(),
        broken,
    })
}

/// How many parts a range of `len` events is split into: two per core (while one part's
/// backend produces rows, another's are hashed), at most 8, each at least `MIN_PART` events.
pub fn default_parts(len: i64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let by_len = usize::try_from(len / MIN_PART).unwrap_or(usize::MAX).max(1);
    (2 * cores).min(by_len).min(8)
}

/// Verifies the chain between `from` and `to` (inclusive; defaults: the whole stored chain).
pub async fn verify(
    pool: &PgPool,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<VerifyReport, DbError> {
    verify_in_parts(pool, from, to, None).await
}

/// `verify`, splitting the range into `parts` checked at once (`None`: `default_parts`).
pub async fn verify_in_parts(
    pool: &PgPool,
    from: Option<i64>,
    to: Option<i64>,
    parts: Option<usize>,
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
        last_hash: None,
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
    let mut last_seq = None;
    let mut last_hash = prev.clone();
    if to >= from {
        let len = to - from + 1;
        let parts = parts.unwrap_or_else(|| default_parts(len)).max(1) as i64;
        let size = (len + parts - 1) / parts;
        // A JoinSet: if this future is dropped (the admin hung up), every part stops with it.
        let mut tasks = tokio::task::JoinSet::new();
        let mut start = from;
        let mut count = 0;
        while start <= to {
            let end = (start + size - 1).min(to);
            let part_prev = if start == from {
                Some(prev.clone())
            } else {
                db::audit::hash_at(pool, start - 1).await?
            };
            let (pool, index) = (pool.clone(), count);
            tasks.spawn(async move { (index, check_part(pool, start, end, part_prev).await) });
            count += 1;
            start = end + 1;
        }
        let mut done: Vec<Option<Part>> = (0..count).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            let (index, part) =
                joined.map_err(|e| DbError::Other(sqlx::Error::Protocol(e.to_string())))?;
            done[index] = Some(part?);
            // Decided once every part up to the first broken one (or all of them) is in.
            let prefix = done.iter().take_while(|p| p.is_some()).flatten();
            if prefix.clone().any(|p| p.broken.is_some()) || done.iter().all(Option::is_some) {
                break;
            }
        }
        drop(tasks);
        for part in done.into_iter().map_while(|p| p) {
            report.checked += part.checked;
            if part.last_seq.is_some() {
                last_seq = part.last_seq;
                last_hash = part.last_hash;
            }
            if part.broken.is_some() {
                report.broken = part.broken;
                break;
            }
        }
    }
    if report.broken.is_none() && whole_tail && last_seq == Some(head_seq) && last_hash != head_hash
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
    report.first_seq = (report.checked > 0).then_some(from);
    report.last_seq = last_seq;
    report.last_hash = last_seq.map(|_| hex::encode(&last_hash));
    Ok(report)
}

#[cfg(test)]
mod tests;
