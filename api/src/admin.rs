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
