//! The hash chain: every stored event carries SHA-256(previous hash ‖ canonical encoding).
//!
//! The canonical encoding is compact JSON with a fixed field order (`v` first), times as RFC 3339
//! UTC with exactly six fraction digits (Postgres keeps microseconds), and `details` with its
//! keys sorted (serde_json's map is ordered). It includes `chain_seq`, so events cannot be
//! renumbered or swapped without breaking the chain.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{format_description::FormatItem, macros::format_description, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::AuditEvent;

/// `prev_hash` of the first event ever written.
pub const GENESIS: [u8; 32] = [0; 32];

const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// An event as stored: what the chain covers, plus its position and hashes.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub chain_seq: i64,
    pub id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub action: String,
    pub outcome: String,
    pub principal_id: Option<Uuid>,
    pub principal: Option<String>,
    pub principal_kind: Option<String>,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub source_identity: Option<String>,
    pub access_key_id: Option<String>,
    pub expiration: Option<OffsetDateTime>,
    pub duration_seconds: Option<i32>,
    pub reason: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

#[derive(Serialize)]
struct Canonical<'a> {
    v: u8,
    chain_seq: i64,
    id: &'a Uuid,
    occurred_at: String,
    action: &'a str,
    outcome: &'a str,
    principal_id: &'a Option<Uuid>,
    principal: &'a Option<String>,
    principal_kind: &'a Option<String>,
    profile: &'a Option<String>,
    role_arn: &'a Option<String>,
    session_name: &'a Option<String>,
    source_identity: &'a Option<String>,
    access_key_id: &'a Option<String>,
    expiration: Option<String>,
    duration_seconds: Option<i32>,
    reason: &'a Option<String>,
    client_addr: &'a Option<String>,
    user_agent: &'a Option<String>,
    request_id: &'a Option<String>,
    details: &'a serde_json::Value,
}

/// RFC 3339 UTC with microseconds, as the chain encodes times.
pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(TIME_FORMAT)
        .expect("formattable time")
}

/// Drops sub-microsecond precision, which Postgres would drop on storage.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .expect("valid nanosecond")
}

/// Postgres text cannot hold NUL; control characters have no place in an audit line either.
fn clean(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|s| s.chars().filter(|c| *c != '\0').collect())
}

impl AuditRow {
    /// The canonical bytes the hash covers.
    pub fn canonical(&self) -> Vec<u8> {
        let c = Canonical {
            v: 1,
            chain_seq: self.chain_seq,
            id: &self.id,
            occurred_at: format_time(self.occurred_at),
            action: &self.action,
            outcome: &self.outcome,
            principal_id: &self.principal_id,
            principal: &self.principal,
            principal_kind: &self.principal_kind,
            profile: &self.profile,
            role_arn: &self.role_arn,
            session_name: &self.session_name,
            source_identity: &self.source_identity,
            access_key_id: &self.access_key_id,
            expiration: self.expiration.map(format_time),
            duration_seconds: self.duration_seconds,
            reason: &self.reason,
            client_addr: &self.client_addr,
            user_agent: &self.user_agent,
            request_id: &self.request_id,
            details: &self.details,
        };
        serde_json::to_vec(&c).expect("serialisable")
    }

    /// The hash this row should carry after `prev`.
    pub fn expected_hash(&self, prev: &[u8]) -> [u8; 32] {
        link(prev, &self.canonical())
    }

    /// Places `event` at `chain_seq` after `prev` and seals it.
    pub fn seal(event: &AuditEvent, chain_seq: i64, prev: &[u8]) -> AuditRow {
        let mut row = AuditRow {
            chain_seq,
            id: event.id,
            occurred_at: to_micros(event.occurred_at),
            action: event.action.to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            principal_id: event.principal_id,
            principal: clean(&event.principal),
            principal_kind: clean(&event.principal_kind),
            profile: clean(&event.profile),
            role_arn: clean(&event.role_arn),
            session_name: clean(&event.session_name),
            source_identity: clean(&event.source_identity),
            access_key_id: clean(&event.access_key_id),
            expiration: event.expiration.map(to_micros),
            duration_seconds: event.duration_seconds,
            reason: clean(&event.reason),
            client_addr: clean(&event.client_addr),
            user_agent: clean(&event.user_agent),
            request_id: clean(&event.request_id),
            details: strip_nul(&event.details),
            prev_hash: prev.to_vec(),
            hash: Vec::new(),
        };
        row.hash = row.expected_hash(prev).to_vec();
        row
    }
}

fn strip_nul(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) if s.contains('\0') => {
            serde_json::Value::String(s.replace('\0', ""))
        }
        serde_json::Value::Array(items) => items.iter().map(strip_nul).collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('\0', ""), strip_nul(v)))
            .collect(),
        other => other.clone(),
    }
}

/// SHA-256(prev ‖ canonical).
pub fn link(prev: &[u8], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{audit::Outcome, request_meta::RequestMeta};

    fn event() -> AuditEvent {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        AuditEvent::new("login", Outcome::Success, &RequestMeta::internal(), now)
            .principal(None, "alice@example.com", "user")
            .detail("groups", ["dev"])
    }

    #[test]
    fn sealing_truncates_time_to_microseconds_like_postgres() {
        let row = AuditRow::seal(&event(), 1, &GENESIS);
        assert_eq!(row.occurred_at.nanosecond() % 1000, 0);
        assert!(format_time(row.occurred_at).ends_with(".123456Z"));
    }

    #[test]
    fn a_sealed_row_verifies_and_any_edit_breaks_it() {
        let row = AuditRow::seal(&event(), 7, &GENESIS);
        assert_eq!(row.expected_hash(&GENESIS).to_vec(), row.hash);
        let mut edited = row.clone();
        edited.principal = Some("mallory@example.com".into());
        assert_ne!(edited.expected_hash(&GENESIS).to_vec(), row.hash);
        let mut moved = row.clone();
        moved.chain_seq = 8;
        assert_ne!(moved.expected_hash(&GENESIS).to_vec(), row.hash);
    }

    #[test]
    fn the_hash_depends_on_the_previous_hash() {
        let a = AuditRow::seal(&event(), 1, &GENESIS);
        let b = AuditRow::seal(&event(), 1, &[1; 32]);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn nul_characters_are_removed_before_storage() {
        let mut e = event();
        e.reason = Some("bad\0input".into());
        e = e.detail("x", "a\0b");
        let row = AuditRow::seal(&e, 1, &GENESIS);
        assert_eq!(row.reason.as_deref(), Some("badinput"));
        assert_eq!(row.details["x"], "ab");
    }
}
