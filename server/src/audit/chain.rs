//! The hash chain: every stored event carries SHA-256(previous hash ‖ canonical encoding).
//!
//! An event's `hash_version` says which canonical encoding its hash covers: version 2 (`v2`,
//! Postgres's binary form of the columns, which verification hashes as received) for events
//! written now, version 1 (`v1`, compact JSON) for older ones. Both include `chain_seq`, so
//! events cannot be renumbered or swapped without breaking the chain, and both include the
//! version, so relabelling an event's encoding breaks it too.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::AuditEvent;

pub mod jsonb;
mod row;
pub mod v1;
pub mod v2;

pub use row::{format_time, AuditRow};

/// `prev_hash` of the first event ever written.
pub const GENESIS: [u8; 32] = [0; 32];

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
    /// The canonical bytes the hash covers, in the row's `hash_version` (`None`: a version
    /// this server does not know).
    pub fn canonical(&self) -> Option<Vec<u8>> {
        match self.hash_version {
            1 => Some(v1::encode(self)),
            v2::VERSION => Some(v2::encode(self)),
            _ => None,
        }
    }

    /// The hash this row should carry after `prev`.
    pub fn expected_hash(&self, prev: &[u8]) -> Option<[u8; 32]> {
        self.canonical().map(|c| link(prev, &c))
    }

    /// Places `event` at `chain_seq` after `prev` and seals it, every field within its cap
    /// ([`super::bounds`]).
    pub fn seal(event: &AuditEvent, chain_seq: i64, prev: &[u8]) -> AuditRow {
        let event = &*super::bounds::capped(event);
        let mut row = AuditRow {
            hash_version: v2::VERSION,
            chain_seq,
            id: event.id,
            occurred_at: to_micros(event.occurred_at),
            action: event.action.to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            principal_id: event.principal_id,
            principal: clean(&event.principal),
            principal_kind: event.principal_kind.map(|k| k.as_str().to_owned()),
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
        row.hash = link(prev, &v2::encode(&row)).to_vec();
        row
    }
}

/// Places `events` after the head (`seq`, `prev`) and seals each onto the one before.
pub fn seal_after(events: &[AuditEvent], mut seq: i64, mut prev: Vec<u8>) -> Vec<AuditRow> {
    events
        .iter()
        .map(|e| {
            seq += 1;
            let row = AuditRow::seal(e, seq, &prev);
            prev.clone_from(&row.hash);
            row
        })
        .collect()
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
    use crate::{audit::Outcome, principal::PrincipalKind, request_meta::RequestMeta};

    fn event() -> AuditEvent {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        AuditEvent::new("login", Outcome::Success, &RequestMeta::internal(), now)
            .principal(None, "alice@example.com", PrincipalKind::User)
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
        assert_eq!(row.expected_hash(&GENESIS).unwrap().to_vec(), row.hash);
        let mut edited = row.clone();
        edited.principal = Some("mallory@example.com".into());
        assert_ne!(edited.expected_hash(&GENESIS).unwrap().to_vec(), row.hash);
        let mut moved = row.clone();
        moved.chain_seq = 8;
        assert_ne!(moved.expected_hash(&GENESIS).unwrap().to_vec(), row.hash);
        let mut relabelled = row.clone();
        relabelled.hash_version = 1;
        assert_ne!(
            relabelled.expected_hash(&GENESIS).unwrap().to_vec(),
            row.hash
        );
    }

    #[test]
    fn events_sealed_after_a_head_continue_its_numbering_and_link_to_each_other() {
        let rows = seal_after(&[event(), event()], 41, vec![7; 32]);
        assert_eq!((rows[0].chain_seq, rows[1].chain_seq), (42, 43));
        assert_eq!(rows[0].prev_hash, vec![7; 32]);
        assert_eq!(rows[1].prev_hash, rows[0].hash);
        assert_eq!(
            rows[1].expected_hash(&rows[0].hash).unwrap().to_vec(),
            rows[1].hash
        );
    }

    #[test]
    fn the_hash_depends_on_the_previous_hash() {
        let a = AuditRow::seal(&event(), 1, &GENESIS);
        let b = AuditRow::seal(&event(), 1, &[1; 32]);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn events_are_sealed_with_the_binary_encoding_and_old_events_keep_theirs() {
        let mut row = AuditRow::seal(&event(), 1, &GENESIS);
        assert_eq!(row.hash_version, v2::VERSION);
        assert_eq!(&row.canonical().unwrap()[..6], &[0, 0, 0, 2, 0, 2]);
        row.hash_version = 1;
        assert_eq!(row.canonical().unwrap()[..6], *br#"{"v":1"#);
        row.hash_version = 9;
        assert_eq!(row.canonical(), None);
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
