//! Version 1 of the canonical encoding (events written before version 2): compact JSON with a
//! fixed field order (`v` first), times as RFC 3339 UTC with exactly six fraction digits, and
//! `details` with its keys sorted. Kept so that older events still verify.

use serde::Serialize;
use uuid::Uuid;

use super::row::{format_time, AuditRow};

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

/// The version 1 canonical bytes of `row`.
pub fn encode(row: &AuditRow) -> Vec<u8> {
    let c = Canonical {
        v: 1,
        chain_seq: row.chain_seq,
        id: &row.id,
        occurred_at: format_time(row.occurred_at),
        action: &row.action,
        outcome: &row.outcome,
        principal_id: &row.principal_id,
        principal: &row.principal,
        principal_kind: &row.principal_kind,
        profile: &row.profile,
        role_arn: &row.role_arn,
        session_name: &row.session_name,
        source_identity: &row.source_identity,
        access_key_id: &row.access_key_id,
        expiration: row.expiration.map(format_time),
        duration_seconds: row.duration_seconds,
        reason: &row.reason,
        client_addr: &row.client_addr,
        user_agent: &row.user_agent,
        request_id: &row.request_id,
        details: &row.details,
    };
    serde_json::to_vec(&c).expect("serialisable")
}
