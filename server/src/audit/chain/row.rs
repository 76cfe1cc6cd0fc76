//! An event as stored: the columns the chain covers, plus its position and hashes.

use time::{format_description::FormatItem, macros::format_description, OffsetDateTime, UtcOffset};
use uuid::Uuid;

const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// An event as stored: what the chain covers, plus its position and hashes.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub hash_version: i16,
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

/// RFC 3339 UTC with microseconds, as the chain encodes times.
pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(TIME_FORMAT)
        .expect("formattable time")
}
