//! Audit events: what was decided, for whom, from where. Never a secret.

use time::OffsetDateTime;
use uuid::Uuid;

pub mod bounds;
pub mod chain;
pub mod filter;

use crate::{
    principal::{Actor, PrincipalKind},
    request_meta::RequestMeta,
};

/// How a decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// One row of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub action: &'static str,
    pub outcome: Outcome,
    pub principal_id: Option<Uuid>,
    pub principal: Option<String>,
    pub principal_kind: Option<PrincipalKind>,
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
}

impl AuditEvent {
    /// An event of `action` at `now`, stamped with where the request came from.
    pub fn new(
        action: &'static str,
        outcome: Outcome,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> Self {
        AuditEvent {
            id: Uuid::new_v4(),
            occurred_at: now,
            action,
            outcome,
            principal_id: None,
            principal: None,
            principal_kind: None,
            profile: None,
            role_arn: None,
            session_name: None,
            source_identity: None,
            access_key_id: None,
            expiration: None,
            duration_seconds: None,
            reason: None,
            client_addr: meta.client_addr.clone(),
            user_agent: meta.user_agent.clone(),
            request_id: Some(meta.request_id.clone()),
            details: serde_json::json!({}),
        }
    }

    /// A server-internal event (start, stop) with the `system` principal.
    pub fn system(action: &'static str, now: OffsetDateTime) -> Self {
        AuditEvent::new(action, Outcome::Success, &RequestMeta::internal(), now).as_server()
    }

    /// Names the server itself (`vault-server`, kind `system`) as the principal.
    pub fn as_server(self) -> Self {
        self.principal(None, "vault-server", PrincipalKind::System)
    }

    /// Names the principal acting through a login session.
    pub fn by(mut self, actor: Actor<'_>) -> Self {
        let p = actor.principal;
        self.details["session_id"] = serde_json::json!(actor.session_id);
        self.principal(Some(p.id), &p.display, p.kind)
    }

    /// Names a principal that is not (yet) an authenticated caller.
    pub fn principal(mut self, id: Option<Uuid>, display: &str, kind: PrincipalKind) -> Self {
        self.principal_id = id;
        self.principal = Some(display.to_owned());
        self.principal_kind = Some(kind);
        self
    }

    pub fn profile(mut self, profile: &str) -> Self {
        self.profile = Some(profile.to_owned());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.details[key] = serde_json::json!(value);
        self
    }
}
