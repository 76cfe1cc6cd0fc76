//! Wire types of the admin key API (`/v1/admin/*`).

use serde::{Deserialize, Serialize};

/// One owned identity's key, as `GET /v1/admin/keys` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyStatus {
    pub identity: String,
    pub iam_user: String,
    /// Partly masked: `AKIA****WXYZ`.
    pub active_key: Option<String>,
    pub key_age_seconds: Option<u64>,
    pub rotation_enabled: bool,
    /// `start`, `created`, `verified`, `activated`, `deactivated`, `done` or `failed`.
    pub last_rotation_step: Option<String>,
    pub last_rotation_started: Option<String>,
    pub last_rotation_finished: Option<String>,
    /// Why the current step last failed (it is retried with backoff).
    pub last_error: Option<String>,
    pub attempts: u32,
    /// RFC 3339 time the next scheduled rotation is due.
    pub next_due: Option<String>,
}

/// Answer of `POST /v1/admin/rotate`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RotateResponse {
    /// Identities whose rotation is now under way.
    pub identities: Vec<String>,
}

/// One live login, as `GET /v1/admin/sessions` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoginSessionView {
    /// The login session id (the `sid` of its access tokens).
    pub session_id: String,
    /// The principal's display name (a person's email, a CI job's subject).
    pub principal: String,
    /// `user` or `ci`.
    pub kind: String,
    /// RFC 3339 times: when the login opened, its last token refresh, when it ends at the latest.
    pub started: String,
    pub last_refresh: Option<String>,
    pub expires: String,
    /// Of the request that opened the login (the browser's for a browser login).
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// Answer of `GET /v1/admin/sessions[?principal=P]`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionsResponse {
    pub sessions: Vec<LoginSessionView>,
    /// More live logins exist than the answer holds (narrow it with `principal`).
    pub truncated: bool,
}

/// Body of `POST /v1/admin/principals/disable` and `/enable`: the principal by its display name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrincipalRequest {
    pub principal: String,
}

/// Answer of `POST /v1/admin/principals/disable` and `/enable`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PrincipalStateResponse {
    pub principal: String,
    /// Whether it is disabled now.
    pub disabled: bool,
    /// Its live logins, which every replica has been told to look up again.
    pub live_sessions: u64,
}

/// Body of `POST /v1/admin/revoke`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The principal by its display name (a person's email, a CI job's subject).
    pub principal: String,
    /// Why, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Also disable the principal, so it cannot log in again until enabled (someone who left).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

/// Answer of `POST /v1/admin/revoke`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevokeResponse {
    pub principal: String,
    /// Live logins ended, on every replica.
    pub logins_ended: u64,
    /// Whether the principal is now disabled as well (asked for with `disable`).
    #[serde(default)]
    pub disabled: bool,
    /// The kill switch: sessions issued before this (RFC 3339) carrying one of
    /// `source_identities` are denied on each of `roles`. Empty for a CI identity, whose jobs'
    /// sessions each carry their own run's source identity.
    #[serde(default)]
    pub revoked_at: String,
    #[serde(default)]
    pub source_identities: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Roles whose policy cannot hold every revocation in force (IAM's size limit), and why.
    #[serde(default)]
    pub too_large: Vec<RoleRefusal>,
}

/// A served role the kill switch cannot write, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleRefusal {
    pub role: String,
    pub message: String,
}
