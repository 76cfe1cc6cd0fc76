//! Length caps on every text field of an audit event, applied once, just before an event is
//! sealed (both the group-committing writer and the in-transaction appends seal through
//! [`super::chain::seal_after`]). No input can make an event too large for its indexes or grow
//! the trail without bound; what was cut is marked in the event itself.
//!
//! A cut string keeps its start, on a character boundary, and ends with `…[+N bytes]` (the
//! bytes removed); the event's `details.truncated` lists the fields that were cut
//! (`"profile"`, `"details.claims.ref"`, …). The caps are documented in the README's audit
//! section.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::AuditEvent;

/// Cap, in bytes, of each text column. The indexed ones (principal, profile, session name,
/// access key id) stay far below Postgres's btree entry limit (about 2,700 bytes).
pub const PRINCIPAL: usize = 512;
pub const PROFILE: usize = 128;
pub const ROLE_ARN: usize = 512;
pub const SESSION_NAME: usize = 128;
pub const SOURCE_IDENTITY: usize = 128;
pub const ACCESS_KEY_ID: usize = 128;
pub const REASON: usize = 1024;
pub const CLIENT_ADDR: usize = 64;
pub const USER_AGENT: usize = 256;
pub const REQUEST_ID: usize = 64;
/// Each string in `details`, at any depth.
pub const DETAIL_STRING: usize = 512;
/// Each key in `details`, at any depth.
pub const DETAIL_KEY: usize = 64;
/// Keys of one object, or items of one array, in `details`.
pub const DETAIL_ENTRIES: usize = 64;
/// Nesting depth of `details` (the object itself is depth 1).
pub const DETAIL_DEPTH: usize = 4;
/// The whole `details` object, as compact JSON.
pub const DETAILS: usize = 8192;
/// Entries of `details.truncated`, and the length of each.
const TRUNCATED_ENTRIES: usize = 12;
const TRUNCATED_PATH: usize = 96;
/// What the rest of `details` may take, leaving room for a full `truncated` list.
const DETAILS_CONTENT: usize = DETAILS - TRUNCATED_ENTRIES * (TRUNCATED_PATH + 3) - 16;

/// `event` with every field within its cap: borrowed unchanged when nothing is over.
pub fn capped(event: &AuditEvent) -> Cow<'_, AuditEvent> {
    let mut cut = Vec::new();
    let names = [
        "principal",
        "profile",
        "role_arn",
        "session_name",
        "source_identity",
        "access_key_id",
        "reason",
        "client_addr",
        "user_agent",
        "request_id",
    ];
    let caps = [
        PRINCIPAL,
        PROFILE,
        ROLE_ARN,
        SESSION_NAME,
        SOURCE_IDENTITY,
        ACCESS_KEY_ID,
        REASON,
        CLIENT_ADDR,
        USER_AGENT,
        REQUEST_ID,
    ];
    let e = event;
    let values = [
        &e.principal,
        &e.profile,
        &e.role_arn,
        &e.session_name,
        &e.source_identity,
        &e.access_key_id,
        &e.reason,
        &e.client_addr,
        &e.user_agent,
        &e.request_id,
    ];
    let over: Vec<usize> = (0..names.len())
        .filter(|&i| values[i].as_deref().is_some_and(|s| s.len() > caps[i]))
        .collect();
    let mut event = Cow::Borrowed(event);
    if !over.is_empty() {
        let e = event.to_mut();
        let fields = [
            &mut e.principal,
            &mut e.profile,
            &mut e.role_arn,
            &mut e.session_name,
            &mut e.source_identity,
            &mut e.access_key_id,
            &mut e.reason,
            &mut e.client_addr,
            &mut e.user_agent,
            &mut e.request_id,
        ];
        for i in over {
            if let Some(s) = fields[i].take() {
                *fields[i] = Some(cut_str(&s, caps[i]));
            }
            cut.push(names[i].to_owned());
        }
    }
    if !within(&event.details, 1) || json_len(&event.details) > DETAILS_CONTENT {
        let details = cap_details(&event.details, &mut cut);
        event.to_mut().details = details;
    }
    if !cut.is_empty() {
        if cut.len() > TRUNCATED_ENTRIES {
            let more = cut.len() - (TRUNCATED_ENTRIES - 1);
            cut.truncate(TRUNCATED_ENTRIES - 1);
            cut.push(format!("…[+{more} more]"));
        }
        let cut: Vec<String> = cut.iter().map(|c| cut_str(c, TRUNCATED_PATH)).collect();
        let event = event.to_mut();
        if !event.details.is_object() {
            event.details = Value::Object(Map::new());
        }
        event.details["truncated"] = Value::from(cut);
    }
    event
}

/// `s` cut to at most `cap` bytes on a character boundary, ending in `…[+N bytes]`.
pub fn cut_str(s: &str, cap: usize) -> String {
    if s.len() <= cap {
        return s.to_owned();
    }
    // The marker's own length depends on N; the widest N (all of `s`) bounds it.
    let marker_room = format!("…[+{} bytes]", s.len()).len();
    let mut keep = cap.saturating_sub(marker_room);
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}…[+{} bytes]", &s[..keep], s.len() - keep)
}

/// Whether every string, key, entry count and the depth of `v` are within their caps.
fn within(v: &Value, depth: usize) -> bool {
    match v {
        Value::String(s) => s.len() <= DETAIL_STRING,
        Value::Array(items) => {
            depth <= DETAIL_DEPTH
                && items.len() <= DETAIL_ENTRIES
                && items.iter().all(|i| within(i, depth + 1))
        }
        Value::Object(map) => {
            depth <= DETAIL_DEPTH
                && map.len() <= DETAIL_ENTRIES
                && map
                    .iter()
                    .all(|(k, v)| k.len() <= DETAIL_KEY && within(v, depth + 1))
        }
        _ => true,
    }
}

fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// `details` with each part capped, then whole top-level entries replaced by a marker from the
/// first one that no longer fits in [`DETAILS_CONTENT`].
fn cap_details(details: &Value, cut: &mut Vec<String>) -> Value {
    let capped = cap_value(details, "details", 1, cut);
    let Value::Object(map) = capped else {
        return capped;
    };
    let mut budget = DETAILS_CONTENT;
    let mut out = Map::new();
    for (key, value) in map {
        let size = key.len() + 4 + json_len(&value);
        if size <= budget {
            budget -= size;
            out.insert(key, value);
        } else {
            let marker = format!("…[+{size} bytes]");
            budget = budget.saturating_sub(key.len() + 4 + marker.len());
            cut.push(format!("details.{key}"));
            out.insert(key, Value::String(marker));
        }
    }
    Value::Object(out)
}

fn cap_value(v: &Value, path: &str, depth: usize, cut: &mut Vec<String>) -> Value {
    let mark = |cut: &mut Vec<String>| {
        if !cut.iter().any(|c| c == path) {
            cut.push(path.to_owned());
        }
    };
    match v {
        Value::String(s) if s.len() > DETAIL_STRING => {
            mark(cut);
            Value::String(cut_str(s, DETAIL_STRING))
        }
        Value::Array(_) | Value::Object(_) if depth > DETAIL_DEPTH => {
            mark(cut);
            Value::String(format!("…[+{} bytes]", json_len(v)))
        }
        Value::Array(items) => {
            if items.len() > DETAIL_ENTRIES {
                mark(cut);
            }
            items
                .iter()
                .take(DETAIL_ENTRIES)
                .enumerate()
                .map(|(i, item)| cap_value(item, &format!("{path}.{i}"), depth + 1, cut))
                .collect()
        }
        Value::Object(map) => {
            if map.len() > DETAIL_ENTRIES {
                mark(cut);
            }
            map.iter()
                .take(DETAIL_ENTRIES)
                .map(|(k, item)| {
                    let key = if k.len() > DETAIL_KEY {
                        mark(cut);
                        cut_str(k, DETAIL_KEY)
                    } else {
                        k.clone()
                    };
                    let item = cap_value(item, &format!("{path}.{key}"), depth + 1, cut);
                    (key, item)
                })
                .collect()
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
