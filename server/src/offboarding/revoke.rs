//! `vault admin revoke PRINCIPAL`: ends every login of a principal on every replica at once,
//! drops its reusable CI sessions from every replica's memory, and (part B) denies the STS
//! sessions already issued to it. One domain call, one `principal_revoke` event.

use vault_api::admin::RevokeResponse;

use crate::{
    audit::{AuditEvent, Outcome},
    auth::Caller,
    clock, db,
    error::ApiError,
    request_meta::RequestMeta,
    state::AppState,
};

/// The longest reason kept.
pub const MAX_REASON: usize = 512;

/// Revokes `principal`'s logins (and, once part B lands, its issued AWS sessions).
pub async fn revoke(
    state: &AppState,
    admin: &Caller,
    meta: &RequestMeta,
    principal: &str,
    reason: Option<&str>,
) -> Result<RevokeResponse, ApiError> {
    let principal = super::disable::named(principal)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.len() > MAX_REASON) {
        return Err(ApiError::BadRequest(format!(
            "reason: at most {MAX_REASON} bytes"
        )));
    }
    let now = clock::now();
    let mut tx = state.db.begin().await?;
    let ids = db::people::ids_of(&mut *tx, principal).await?;
    if ids.is_empty() {
        return Err(super::disable::unknown(principal));
    }
    let why = format!(
        "revoked by an admin: {}",
        reason.unwrap_or("no reason given")
    );
    let ended = db::people::revoke_sessions_of(&mut tx, &ids, &why, now).await?;
    // KILL SWITCH (part B, server/src/revocations/): record the SourceIdentity + TokenIssueTime
    // deny for `ids` at `now` here, in this transaction, so the AWS steps run from it.
    let mut event = AuditEvent::new("principal_revoke", Outcome::Success, meta, now)
        .by(admin.actor())
        .detail("principal", principal)
        .detail("principals", ids.len())
        .detail("logins_ended", ended.len());
    if let Some(r) = reason {
        event = event.reason(r);
    }
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    for id in &ended {
        state.sessions.forget(*id);
    }
    for id in &ids {
        state.sessions.principal_revoked(Some(*id));
    }
    Ok(RevokeResponse {
        principal: principal.to_owned(),
        logins_ended: ended.len() as u64,
    })
}
