//! The live logins, for admins (`GET /v1/admin/sessions`): a read that is itself an event.

use time::format_description::well_known::Rfc3339;
use vault_api::admin::{LoginSessionView, SessionsResponse};

use crate::{
    audit::{bounds::cut_str, AuditEvent, Outcome},
    auth::Caller,
    clock,
    db::{self, live_sessions::LiveSession},
    error::ApiError,
    request_meta::RequestMeta,
    state::AppState,
};

/// Most logins one answer lists; `truncated` says when there were more.
pub const MAX_LISTED: usize = 1000;

/// The live logins (of `principal` when given), newest first, with a `sessions_list` event.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    principal: Option<&str>,
) -> Result<SessionsResponse, ApiError> {
    let principal = match principal.filter(|p| !p.trim().is_empty()) {
        Some(p) => Some(super::disable::named(p)?),
        None => None,
    };
    let now = clock::now();
    let mut rows =
        db::live_sessions::list(&state.db, principal, now, MAX_LISTED as i64 + 1).await?;
    let truncated = rows.len() > MAX_LISTED;
    rows.truncate(MAX_LISTED);
    let mut event = AuditEvent::new("sessions_list", Outcome::Success, meta, now)
        .by(caller.actor())
        .detail("returned", rows.len());
    if let Some(p) = principal {
        event = event.detail("principal", cut_str(p, 256));
    }
    state.audit.write(event).await?;
    Ok(SessionsResponse {
        sessions: rows.iter().map(view).collect(),
        truncated,
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn view(s: &LiveSession) -> LoginSessionView {
    LoginSessionView {
        session_id: s.session_id.to_string(),
        principal: s.display.clone(),
        kind: s.kind.as_str().to_owned(),
        started: rfc3339(s.created_at),
        last_refresh: s.last_refresh_at.map(rfc3339),
        expires: rfc3339(s.expires_at),
        client_addr: s.client_addr.clone(),
        user_agent: s.user_agent.clone(),
    }
}
