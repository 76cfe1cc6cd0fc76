//! `vault admin disable` / `enable`: a disabled principal cannot log in, refresh or use its
//! tokens, whatever its IdP groups say. The change, its audit event and the notice that makes
//! every replica look its sessions up again commit together.

use vault_api::admin::PrincipalStateResponse;

use crate::{
    audit::{AuditEvent, Outcome},
    auth::Caller,
    clock, db,
    error::ApiError,
    request_meta::RequestMeta,
    state::AppState,
};

/// The longest principal name a request may give (displays are bounded alike).
pub const MAX_PRINCIPAL: usize = 512;

/// Checks a principal named in a request: present and bounded.
pub fn named(principal: &str) -> Result<&str, ApiError> {
    let principal = principal.trim();
    if principal.is_empty() {
        return Err(ApiError::BadRequest(
            "principal: name one (its display name, e.g. an email)".into(),
        ));
    }
    if principal.len() > MAX_PRINCIPAL {
        return Err(ApiError::BadRequest(format!(
            "principal: at most {MAX_PRINCIPAL} bytes"
        )));
    }
    Ok(principal)
}

/// Disables (`disable`) or enables the principals displayed as `principal`, with a
/// `principal_disable` / `principal_enable` event by the admin.
pub async fn set(
    state: &AppState,
    admin: &Caller,
    meta: &RequestMeta,
    principal: &str,
    disable: bool,
) -> Result<PrincipalStateResponse, ApiError> {
    let principal = named(principal)?;
    let now = clock::now();
    let mut tx = state.db.begin().await?;
    let ids = db::people::set_disabled(&mut *tx, principal, disable.then_some(now)).await?;
    if ids.is_empty() {
        return Err(unknown(principal));
    }
    let sessions = db::people::announce_sessions_of(&mut *tx, &ids).await?;
    let action = if disable {
        "principal_disable"
    } else {
        "principal_enable"
    };
    let event = AuditEvent::new(action, Outcome::Success, meta, now)
        .by(admin.actor())
        .detail("principal", principal)
        .detail("principals", ids.len())
        .detail("live_sessions", sessions.len());
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    for id in &sessions {
        state.sessions.forget(*id);
    }
    Ok(PrincipalStateResponse {
        principal: principal.to_owned(),
        disabled: disable,
        live_sessions: sessions.len() as u64,
    })
}

/// No principal has that display name.
pub fn unknown(principal: &str) -> ApiError {
    ApiError::NotFound {
        code: "unknown_principal",
        message: format!(
            "no principal is named `{principal}` (a person by their email, a CI job by its subject)"
        ),
    }
}
