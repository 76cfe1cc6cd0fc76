//! Version 2 of the canonical encoding: the event's columns in Postgres's binary format, each
//! preceded by its length as a big-endian i32 (-1 for NULL), exactly as a tuple of
//! `COPY (SELECT <FIELDS> ...) TO STDOUT (FORMAT binary)` carries them. Verification therefore
//! hashes the bytes Postgres sends without decoding anything; sealing writes the same bytes from
//! the event:
//!
//! - `hash_version` int2, `chain_seq` int8, `duration_seconds` int4: big-endian integers;
//! - `id`, `principal_id`: the 16 bytes of the UUID;
//! - `occurred_at`, `expiration`: int8 microseconds since 2000-01-01T00:00:00Z;
//! - text columns: their UTF-8 bytes;
//! - `details` (jsonb): the byte 1, then Postgres's text form of the value (see `jsonb`).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{jsonb, row::AuditRow};

/// The encoding's number, stored in `hash_version` and encoded as the first field.
pub const VERSION: i16 = 2;

/// The columns the encoding covers, in order.
pub const FIELDS: &str =
    "hash_version, chain_seq, id, occurred_at, action, outcome, principal_id, \
    principal, principal_kind, profile, role_arn, session_name, source_identity, access_key_id, \
    expiration, duration_seconds, reason, client_addr, user_agent, request_id, details";

/// How many columns `FIELDS` names.
pub const FIELD_COUNT: usize = 21;

/// Microseconds from the Unix epoch to Postgres's epoch, 2000-01-01T00:00:00Z.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A time as Postgres's binary `timestamptz`: microseconds since 2000-01-01T00:00:00Z.
pub fn pg_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64 - PG_EPOCH_UNIX_MICROS
}

/// The inverse of `pg_micros`.
pub fn from_pg_micros(micros: i64) -> Option<OffsetDateTime> {
    let unix = i128::from(micros) + i128::from(PG_EPOCH_UNIX_MICROS);
    OffsetDateTime::from_unix_timestamp_nanos(unix * 1000).ok()
}

/// The version 2 canonical bytes of `row`.
pub fn encode(row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    put(&mut out, &VERSION.to_be_bytes());
    put(&mut out, &row.chain_seq.to_be_bytes());
    put(&mut out, row.id.as_bytes());
    put(&mut out, &pg_micros(row.occurred_at).to_be_bytes());
    put(&mut out, row.action.as_bytes());
    put(&mut out, row.outcome.as_bytes());
    put_opt(&mut out, row.principal_id.as_ref().map(Uuid::as_bytes));
    for text in [
        &row.principal,
        &row.principal_kind,
        &row.profile,
        &row.role_arn,
        &row.session_name,
        &row.source_identity,
        &row.access_key_id,
    ] {
        put_opt(&mut out, text.as_deref().map(str::as_bytes));
    }
    put_opt(
        &mut out,
        row.expiration.map(|t| pg_micros(t).to_be_bytes()).as_ref(),
    );
    put_opt(
        &mut out,
        row.duration_seconds.map(i32::to_be_bytes).as_ref(),
    );
    for text in [
        &row.reason,
        &row.client_addr,
        &row.user_agent,
        &row.request_id,
    ] {
        put_opt(&mut out, text.as_deref().map(str::as_bytes));
    }
    let mut details = vec![1u8];
    jsonb::write(&mut details, &row.details);
    put(&mut out, &details);
    out
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = i32::try_from(bytes.len()).expect("a field under 2 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt<B: AsRef<[u8]> + ?Sized>(out: &mut Vec<u8>, bytes: Option<&B>) {
    match bytes {
        Some(b) => put(out, b.as_ref()),
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_times_count_microseconds_from_the_year_2000() {
        let y2k = time::macros::datetime!(2000-01-01 00:00:00.000_001 UTC);
        assert_eq!(pg_micros(y2k), 1);
        let before = time::macros::datetime!(1999-12-31 23:59:59 UTC);
        assert_eq!(pg_micros(before), -1_000_000);
        assert_eq!(from_pg_micros(pg_micros(y2k)), Some(y2k));
    }
}
