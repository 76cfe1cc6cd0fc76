//! Wire types of `GET /v1/admin/revocations`: the kill switch per served role.

use serde::{Deserialize, Serialize};

/// One served role: how far its `team-vault-revocations` policy has come, and what it denies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleRevocations {
    pub role_arn: String,
    /// `pending`, `merged` or `applied` (`none` when nothing was ever revoked on it).
    pub step: String,
    /// Failed attempts of the current step (retried with backoff).
    pub attempts: u32,
    pub last_error: Option<String>,
    /// RFC 3339 time IAM last took the policy.
    pub applied_at: Option<String>,
    pub statements: Vec<RevokedStatement>,
}

/// One person denied on a role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevokedStatement {
    pub principal_id: String,
    pub source_identity: String,
    /// Sessions issued before this (RFC 3339) are denied.
    pub revoked_at: String,
    /// When the statement goes: every session it denies has expired by then.
    pub expires_at: String,
    pub reason: String,
    pub revoked_by: String,
}
