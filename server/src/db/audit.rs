//! The append-only audit table and its hash chain.

use futures_util::stream::BoxStream;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;

use crate::audit::{
    chain::{seal_after, AuditRow},
    filter::{Filter, TextMatch},
    AuditEvent,
};

const COLUMNS: &str = "hash_version, chain_seq, id, occurred_at, action, outcome, principal_id, principal, principal_kind, \
    profile, role_arn, session_name, source_identity, access_key_id, expiration, duration_seconds, reason, \
    client_addr, user_agent, request_id, details, prev_hash, hash";

/// Appends events at the head of the chain. Must run inside a transaction: it locks the chain
/// head (serialising writers on every replica) until that transaction ends.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn append(conn: &mut PgConnection, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let (seq, prev): (i64, Vec<u8>) =
        sqlx::query_as("SELECT chain_seq, hash FROM audit_chain_head WHERE id FOR UPDATE")
            .fetch_one(&mut *conn)
            .await?;
    let rows = seal_after(events, seq, prev);
    let last = rows.last().expect("events is not empty");
    let mut insert =
        QueryBuilder::<Postgres>::new(format!("INSERT INTO audit_events ({COLUMNS}) "));
    push_rows(&mut insert, &rows);
    insert.build().execute(&mut *conn).await?;
    sqlx::query("UPDATE audit_chain_head SET chain_seq = $1, hash = $2 WHERE id")
        .bind(last.chain_seq)
        .bind(&last.hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends sealed `rows` only if the chain head is still (`head_seq`, `head_hash`), in one
/// autocommitted statement: the head moves and the rows land together, or nothing happens
/// (another writer got there first) and `false` tells the caller to re-read the head.
#[tracing::instrument(skip_all, fields(events = rows.len()))]
pub async fn append_if_head(
    pool: &PgPool,
    rows: &[AuditRow],
    head_seq: i64,
    head_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let Some(last) = rows.last() else {
        return Ok(true);
    };
    let mut q =
        QueryBuilder::<Postgres>::new("WITH moved AS (UPDATE audit_chain_head SET chain_seq = ");
    q.push_bind(last.chain_seq)
        .push(", hash = ")
        .push_bind(&last.hash)
        .push(" WHERE id AND chain_seq = ")
        .push_bind(head_seq)
        .push(" AND hash = ")
        .push_bind(head_hash)
        .push(format!(
            " RETURNING 1) INSERT INTO audit_events ({COLUMNS}) SELECT v.* FROM ("
        ));
    push_rows(&mut q, rows);
    q.push(format!(
        ") AS v({COLUMNS}) WHERE EXISTS (SELECT 1 FROM moved)"
    ));
    let done = q.build().execute(pool).await?;
    Ok(done.rows_affected() == rows.len() as u64)
}

/// `VALUES (...), (...)` of sealed rows, in `COLUMNS` order.
fn push_rows<'a>(q: &mut QueryBuilder<'a, Postgres>, rows: &'a [AuditRow]) {
    q.push_values(rows, |mut b, r| {
        b.push_bind(r.hash_version)
            .push_bind(r.chain_seq)
            .push_bind(r.id)
            .push_bind(r.occurred_at)
            .push_bind(&r.action)
            .push_bind(&r.outcome)
            .push_bind(r.principal_id)
            .push_bind(&r.principal)
            .push_bind(&r.principal_kind)
            .push_bind(&r.profile)
            .push_bind(&r.role_arn)
            .push_bind(&r.session_name)
            .push_bind(&r.source_identity)
            .push_bind(&r.access_key_id)
            .push_bind(r.expiration)
            .push_bind(r.duration_seconds)
            .push_bind(&r.reason)
            .push_bind(&r.client_addr)
            .push_bind(&r.user_agent)
            .push_bind(&r.request_id)
            .push_bind(&r.details)
            .push_bind(&r.prev_hash)
            .push_bind(&r.hash);
    });
}

/// Appends one event in its own transaction (committed on return).
pub async fn append_one(pool: &PgPool, event: &AuditEvent) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    append(&mut tx, std::slice::from_ref(event)).await?;
    tx.commit().await
}

/// Filtered reads are never prepared statements: a cached statement gets Postgres's generic plan
/// after five runs, and for a filter that plan cannot know whether the principal or the time
/// window is the narrow side. On 10M events it intersects both indexes' bitmaps (150 ms) where
/// the plan for the actual values walks the principal's newest events (under 1 ms). Planning
/// each query for its own values costs well under a millisecond.
fn filtered_rows<'q>(
    q: &'q mut QueryBuilder<'_, Postgres>,
) -> sqlx::query::QueryAs<'q, Postgres, AuditRow, sqlx::postgres::PgArguments> {
    q.build_query_as().persistent(false)
}

fn push_filter(q: &mut QueryBuilder<'_, Postgres>, f: &Filter) {
    push_match(q, f);
    push_window(q, f);
}

/// Everything but the time window: `WHERE chain_seq IS NOT NULL AND …`.
fn push_match(q: &mut QueryBuilder<'_, Postgres>, f: &Filter) {
    q.push(" WHERE chain_seq IS NOT NULL");
    let text = |q: &mut QueryBuilder<'_, Postgres>, column: &str, m: &Option<TextMatch>| match m {
        Some(TextMatch::Exact(v)) => {
            q.push(format!(" AND {column} = ")).push_bind(v.clone());
        }
        Some(TextMatch::Like(p)) => {
            q.push(format!(" AND {column} LIKE ")).push_bind(p.clone());
        }
        None => {}
    };
    text(q, "principal", &f.principal);
    text(q, "session_name", &f.session_name);
    for (column, value) in [
        ("action", &f.action),
        ("profile", &f.profile),
        ("outcome", &f.outcome),
        ("client_addr", &f.source),
        ("access_key_id", &f.access_key_id),
    ] {
        if let Some(v) = value {
            q.push(format!(" AND {column} = ")).push_bind(v.clone());
        }
    }
}

/// The time window, as further ` AND …` conditions.
fn push_window(q: &mut QueryBuilder<'_, Postgres>, f: &Filter) {
    if let Some(t) = f.since {
        q.push(" AND occurred_at >= ").push_bind(t);
    }
    if let Some(t) = f.until {
        q.push(" AND occurred_at < ").push_bind(t);
    }
}

/// How many of the newest matching events the windowed probe reads, at most: 20 pages' worth,
/// between 1,000 and 20,000.
fn probe_size(limit: i64) -> i64 {
    limit.saturating_mul(20).clamp(1_000, 20_000)
}

/// Windows up to this long are narrowed to chain positions through `audit_time_marks` (one row
/// per minute: 50,400 rows at most to read); longer ones walk the chain without that bound.
const MARKED_WINDOW: time::Duration = time::Duration::days(35);

/// The chain positions events of the window can hold (a superset, from the per-minute marks),
/// `Some(None)` when no event falls in it, `None` when the window is too long to look up.
async fn window_positions(
    conn: &mut PgConnection,
    f: &Filter,
    now: OffsetDateTime,
) -> Result<Option<Option<(i64, i64)>>, sqlx::Error> {
    let (Some(since), until) = (f.since, f.until) else {
        return Ok(None);
    };
    if until.unwrap_or(now) - since > MARKED_WINDOW {
        return Ok(None);
    }
    let bounds: (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT min(first_seq), max(last_seq) FROM audit_time_marks \
         WHERE minute >= date_trunc('minute', $1 AT TIME ZONE 'UTC') \
           AND ($2::timestamptz IS NULL OR minute < $2 AT TIME ZONE 'UTC')",
    )
    .bind(since)
    .bind(until)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(match bounds {
        (Some(lo), Some(hi)) => Some((lo, hi)),
        _ => None,
    }))
}

/// Newest first, at most `limit`, strictly before chain position `before` when given.
///
/// A time window is first narrowed to the chain positions its minutes hold (`audit_time_marks`).
/// Then the newest events that match everything else are read (one ordered index walk within
/// those positions, bounded by `probe_size`) and the window is applied to them. When that fills
/// the page it is exactly the answer: any matching event outside the probe is older in the
/// chain than every event in it. Only otherwise does the whole query run. Postgres cannot plan
/// this by itself: it takes a principal and a time window as independent, so it intersects both
/// indexes' bitmaps (20–50 ms on 10M events) where the walk takes about 1 ms.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut PgConnection,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let windowed = f.since.is_some() || f.until.is_some();
    let positions = if windowed {
        match window_positions(&mut *conn, f, crate::clock::now()).await? {
            Some(None) => return Ok(Vec::new()),
            Some(bounds) => bounds,
            None => None,
        }
    } else {
        None
    };
    let bound = |q: &mut QueryBuilder<'_, Postgres>| {
        if let Some(b) = before {
            q.push(" AND chain_seq < ").push_bind(b);
        }
        if let Some((lo, hi)) = positions {
            q.push(" AND chain_seq BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
    };
    if windowed {
        let mut q = QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM (SELECT {COLUMNS} FROM audit_events"
        ));
        push_match(&mut q, f);
        bound(&mut q);
        q.push(" ORDER BY chain_seq DESC LIMIT ")
            .push_bind(probe_size(limit))
            .push(") newest WHERE true");
        push_window(&mut q, f);
        q.push(" ORDER BY chain_seq DESC LIMIT ").push_bind(limit);
        let rows = filtered_rows(&mut q).fetch_all(&mut *conn).await?;
        if rows.len() as i64 >= limit {
            return Ok(rows);
        }
    }
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_events"));
    push_filter(&mut q, f);
    bound(&mut q);
    q.push(" ORDER BY chain_seq DESC LIMIT ").push_bind(limit);
    filtered_rows(&mut q).fetch_all(conn).await
}

/// Oldest first, strictly after chain position `after`, at most `limit`.
pub async fn after(
    ex: impl PgExecutor<'_>,
    f: &Filter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    between(ex, f, after, None, limit).await
}

/// Oldest first, strictly after chain position `after` and up to `upto` if given, at most `limit`.
#[tracing::instrument(skip_all)]
async fn between(
    ex: impl PgExecutor<'_>,
    f: &Filter,
    after: i64,
    upto: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_events"));
    push_filter(&mut q, f);
    q.push(" AND chain_seq > ").push_bind(after);
    if let Some(upto) = upto {
        q.push(" AND chain_seq <= ").push_bind(upto);
    }
    q.push(" ORDER BY chain_seq ASC LIMIT ").push_bind(limit);
    filtered_rows(&mut q).fetch_all(ex).await
}

/// Events an export reads per page, at most.
const EXPORT_PAGE: i64 = 500;
/// Chain positions one export page spans, at most: each page is a short index range scan
/// (well within `statement_timeout`) however few events the filter matches.
const EXPORT_SPAN: i64 = 20_000;

/// Every matching event up to the chain head as the export starts, oldest first, as a stream.
/// Read in keyset pages, each on a pooled connection taken for that page only: a slow reader
/// holds no database connection while it reads, and events that arrive later are not waited for.
pub fn stream_filtered(
    pool: PgPool,
    f: Filter,
) -> BoxStream<'static, Result<AuditRow, sqlx::Error>> {
    Box::pin(async_stream::try_stream! {
        let (end, _) = head(&pool).await?;
        let mut last = 0;
        while last < end {
            let upto = last.saturating_add(EXPORT_SPAN).min(end);
            let rows = between(&pool, &f, last, Some(upto), EXPORT_PAGE).await?;
            let full = rows.len() as i64 == EXPORT_PAGE;
            last = match rows.last() {
                Some(r) if full => r.chain_seq,
                _ => upto,
            };
            for row in rows {
                yield row;
            }
        }
    })
}

/// The chain head: the last position and its hash.
pub async fn head(ex: impl PgExecutor<'_>) -> Result<(i64, Vec<u8>), sqlx::Error> {
    sqlx::query_as("SELECT chain_seq, hash FROM audit_chain_head WHERE id")
        .fetch_one(ex)
        .await
}

/// The lowest chain position still stored.
pub async fn first_seq(ex: impl PgExecutor<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(chain_seq) FROM audit_events")
        .fetch_one(ex)
        .await
}

/// The highest chain position stored.
pub async fn max_seq(ex: impl PgExecutor<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(chain_seq) FROM audit_events")
        .fetch_one(ex)
        .await
}

/// The hash stored at one position.
pub async fn hash_at(
    ex: impl PgExecutor<'_>,
    chain_seq: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT hash FROM audit_events WHERE chain_seq = $1")
        .bind(chain_seq)
        .fetch_optional(ex)
        .await
}

/// The retention checkpoint that cut the chain right after `cut_seq`, if any.
pub async fn checkpoint(
    ex: impl PgExecutor<'_>,
    cut_seq: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT cut_hash FROM audit_checkpoints WHERE cut_seq = $1")
        .bind(cut_seq)
        .fetch_optional(ex)
        .await
}

/// What one retention pass removed.
#[derive(Debug, sqlx::FromRow)]
pub struct Pruned {
    pub cut_seq: i64,
    pub cut_hash: Vec<u8>,
    pub pruned: i64,
}

/// Removes events older than `cutoff` (through the SECURITY DEFINER `audit_prune`).
pub async fn prune(
    conn: &mut PgConnection,
    cutoff: OffsetDateTime,
) -> Result<Option<Pruned>, sqlx::Error> {
    sqlx::query_as("SELECT cut_seq, cut_hash, pruned FROM audit_prune($1)")
        .bind(cutoff)
        .fetch_optional(conn)
        .await
}
