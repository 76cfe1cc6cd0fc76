//! The `rate_limited` summary: refusals of a source over its limit are counted in memory, by
//! kind, and written as one audit event per source per interval. The number of sources and of
//! kinds per source is capped; what does not fit is folded into one entry, never dropped.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::Mutex,
};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    audit::{AuditEvent, Outcome},
    principal::Principal,
    request_meta::RequestMeta,
};

/// Sources summed separately per interval; refusals of further sources share one entry.
pub const MAX_SOURCES: usize = 1000;
/// Kinds counted separately per source; further kinds are counted as `other`.
const MAX_KINDS: usize = 8;
/// Longest kind label kept (a kind is `METHOD /path`, and the path is the client's).
pub const MAX_KIND_CHARS: usize = 80;

/// Who was refused: an address (IPv6 by its /64) or a principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Address(IpAddr),
    Principal(Uuid),
    /// Every source past [`MAX_SOURCES`] in one interval.
    Overflow,
}

struct Tally {
    principal: Option<Principal>,
    client_addr: Option<String>,
    count: u64,
    kinds: BTreeMap<String, u64>,
    first: OffsetDateTime,
    last: OffsetDateTime,
}

/// Refusals since the last flush.
#[derive(Default)]
pub struct Summary {
    tallies: Mutex<HashMap<Source, Tally>>,
}

impl Summary {
    /// Counts one refusal of `kind` (`POST /oauth/token`) for `source` at `now`.
    pub fn record(
        &self,
        source: Source,
        principal: Option<&Principal>,
        client_addr: Option<String>,
        kind: &str,
        now: OffsetDateTime,
    ) {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let full = tallies.len() >= MAX_SOURCES && !tallies.contains_key(&source);
        let (source, principal, client_addr) = if full {
            (Source::Overflow, None, None)
        } else {
            (source, principal.cloned(), client_addr)
        };
        let tally = tallies.entry(source).or_insert_with(|| Tally {
            principal,
            client_addr,
            count: 0,
            kinds: BTreeMap::new(),
            first: now,
            last: now,
        });
        tally.count += 1;
        tally.last = now;
        let kind: String = kind.chars().take(MAX_KIND_CHARS).collect();
        let kind = if tally.kinds.len() < MAX_KINDS || tally.kinds.contains_key(&kind) {
            kind
        } else {
            "other".to_owned()
        };
        *tally.kinds.entry(kind).or_default() += 1;
    }

    /// The events of everything counted since the last call, which starts a new interval.
    pub fn take(&self, now: OffsetDateTime) -> Vec<AuditEvent> {
        let tallies = std::mem::take(&mut *self.tallies.lock().unwrap_or_else(|e| e.into_inner()));
        tallies
            .into_iter()
            .map(|(source, tally)| event(source, tally, now))
            .collect()
    }
}

fn event(source: Source, tally: Tally, now: OffsetDateTime) -> AuditEvent {
    let limit = match source {
        Source::Address(_) => "address",
        Source::Principal(_) => "principal",
        Source::Overflow => "overflow",
    };
    let mut event = AuditEvent::new(
        "rate_limited",
        Outcome::Denied,
        &RequestMeta::internal(),
        now,
    );
    event.client_addr = tally.client_addr;
    event.user_agent = None;
    if let Some(p) = &tally.principal {
        event = event.principal(Some(p.id), &p.display, p.kind);
    }
    let reason = match source {
        Source::Overflow => format!(
            "{} requests refused over their rate limits, from more than {MAX_SOURCES} sources",
            tally.count
        ),
        _ => format!(
            "{} requests refused over the {limit} rate limit",
            tally.count
        ),
    };
    event
        .reason(reason)
        .detail("limit", limit)
        .detail("count", tally.count)
        .detail("kinds", &tally.kinds)
        .detail("first", format_time(tally.first))
        .detail("last", format_time(tally.last))
}

fn format_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::PrincipalKind;

    fn addr(i: u32) -> Source {
        Source::Address(IpAddr::from(i.to_be_bytes()))
    }

    #[test]
    fn refusals_of_one_source_become_one_event_with_the_count_and_kinds() {
        let s = Summary::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..3 {
            s.record(
                addr(1),
                None,
                Some("0.0.0.1".into()),
                "POST /oauth/token",
                now,
            );
        }
        s.record(addr(1), None, Some("0.0.0.1".into()), "GET /device", now);
        let alice = Principal {
            id: Uuid::new_v4(),
            kind: PrincipalKind::User,
            display: "alice@example.com".into(),
            display_shared: false,
        };
        s.record(
            Source::Principal(alice.id),
            Some(&alice),
            None,
            "POST /v1/credentials",
            now,
        );
        let mut events = s.take(now);
        events.sort_by_key(|e| e.principal.clone());
        assert_eq!(events.len(), 2);
        let by_addr = &events[0];
        assert_eq!(by_addr.action, "rate_limited");
        assert_eq!(by_addr.client_addr.as_deref(), Some("0.0.0.1"));
        assert_eq!(by_addr.details["count"], 4);
        assert_eq!(by_addr.details["kinds"]["POST /oauth/token"], 3);
        assert_eq!(by_addr.details["kinds"]["GET /device"], 1);
        assert_eq!(events[1].principal.as_deref(), Some("alice@example.com"));
        assert_eq!(events[1].details["limit"], "principal");
        assert!(s.take(now).is_empty(), "a flush starts a new interval");
    }

    #[test]
    fn sources_and_kinds_past_their_caps_are_folded_not_dropped() {
        let s = Summary::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        for i in 0..(MAX_SOURCES as u32 + 50) {
            s.record(addr(i), None, None, "POST /oauth/token", now);
        }
        for i in 0..20 {
            s.record(
                addr(0),
                None,
                None,
                &format!("GET /junk/{i}/{}", "x".repeat(500)),
                now,
            );
        }
        let events = s.take(now);
        assert_eq!(events.len(), MAX_SOURCES + 1);
        let total: u64 = events
            .iter()
            .map(|e| e.details["count"].as_u64().unwrap())
            .sum();
        assert_eq!(total, MAX_SOURCES as u64 + 50 + 20);
        let overflow = events
            .iter()
            .find(|e| e.details["limit"] == "overflow")
            .unwrap();
        assert_eq!(overflow.details["count"], 50);
        let first = events.iter().find(|e| e.details["count"] == 21).unwrap();
        let kinds = first.details["kinds"].as_object().unwrap();
        assert_eq!(kinds.len(), MAX_KINDS + 1);
        assert_eq!(kinds["other"], 20 - (MAX_KINDS as u64 - 1));
        assert!(kinds.keys().all(|k| k.chars().count() <= MAX_KIND_CHARS));
    }
}
