//! Wire types of the admin audit API (`/v1/audit*`).

use serde::{Deserialize, Serialize};

/// One audit event as the admin API shows it. Never holds a secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEventView {
    /// Position in the hash chain (1, 2, 3, ... with no gaps).
    pub chain_seq: i64,
    pub id: String,
    /// RFC 3339 UTC with microseconds.
    pub time: String,
    pub action: String,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    pub principal: Option<String>,
    /// `user`, `ci` or `system`.
    pub principal_kind: Option<String>,
    pub principal_id: Option<String>,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub source_identity: Option<String>,
    pub access_key_id: Option<String>,
    pub expiration: Option<String>,
    pub duration_seconds: Option<i32>,
    pub reason: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    /// Hex SHA-256 of (previous hash ‖ canonical encoding of this event).
    pub hash: String,
}

/// A page of `GET /v1/audit` (newest first) or `GET /v1/audit/follow` (oldest first).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page. For follow: the
    /// `after` to use next time.
    pub next_cursor: Option<String>,
}

/// Answer of `GET /v1/audit/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events whose hash was recomputed.
    pub checked: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The chain starts at a retention checkpoint rather than at the genesis event.
    pub from_checkpoint: bool,
    /// The first broken link, exactly: which event and why.
    pub broken: Option<BrokenLink>,
    /// Hex hash of the event at `last_seq`. Kept somewhere else with `last_seq` (an anchor), it
    /// later shows whether history up to that event was rewritten, even with every hash
    /// recomputed: `vault audit verify --anchor SEQ:HASH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hash: Option<String>,
}

/// Where and why verification failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrokenLink {
    pub chain_seq: i64,
    pub id: Option<String>,
    pub reason: String,
}
