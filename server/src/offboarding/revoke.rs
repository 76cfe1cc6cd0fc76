//! `vault admin revoke PRINCIPAL`: ends every login of a principal on every replica at once,
//! drops its reusable CI sessions from every replica's memory, and records the kill switch that
//! denies the STS sessions already issued to a person. One domain call, one `principal_revoke`
//! event, committed with all of it.

use time::format_description::well_known::Rfc3339;
use vault_api::admin::{RevokeRequest, RevokeResponse, RoleRefusal};

use crate::{
    audit::{AuditEvent, Outcome},
    auth::Caller,
    clock, db,
    error::ApiError,
    request_meta::RequestMeta,
    revocations::{RecordError, MAX_REASON},
    state::AppState,
};

/// Revokes the named principal's logins and, for a person, its issued AWS sessions; with
/// `disable`, disables it too, in the same transaction.
pub async fn revoke(
    state: &AppState,
    admin: &Caller,
    meta: &RequestMeta,
    request: &RevokeRequest,
) -> Result<RevokeResponse, ApiError> {
    let principal = super::disable::named(&request.principal)?;
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(ApiError::BadRequest(format!(
            "reason: at most {MAX_REASON} characters"
        )));
    }
    let now = clock::now();
    let mut tx = state.db.begin().await?;
    let named = db::people::named(&mut *tx, principal).await?;
    if named.is_empty() {
        return Err(super::disable::unknown(principal));
    }
    let ids: Vec<_> = named.iter().map(|p| p.id).collect();
    if request.disable {
        db::people::set_disabled(&mut *tx, principal, Some(now)).await?;
    }
    let why = format!(
        "revoked by an admin: {}",
        reason.unwrap_or("no reason given")
    );
    let ended = db::people::revoke_sessions_of(&mut tx, &ids, &why, now).await?;
    let recorded = state
        .revocations
        .record(
            &mut tx,
            &named,
            reason.unwrap_or_default(),
            &admin.principal.display,
            now,
        )
        .await
        .map_err(|e| match e {
            RecordError::ReasonTooLong => ApiError::BadRequest(format!("reason: {e}")),
            RecordError::Db(e) => e.into(),
        })?;
    let source_identities: Vec<String> =
        recorded.iter().map(|r| r.source_identity.clone()).collect();
    let roles: Vec<String> = if recorded.is_empty() {
        Vec::new()
    } else {
        state
            .revocations
            .roles
            .iter()
            .map(|r| r.arn.clone())
            .collect()
    };
    let mut event = AuditEvent::new("principal_revoke", Outcome::Success, meta, now)
        .by(admin.actor())
        .detail("principal", principal)
        .detail("principals", ids.len())
        .detail("logins_ended", ended.len())
        .detail("disabled", request.disable)
        .detail("source_identities", &source_identities)
        .detail("kill_switch_roles", roles.len());
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
    let too_large = if recorded.is_empty() {
        Vec::new()
    } else {
        too_large(state, now).await
    };
    Ok(RevokeResponse {
        principal: principal.to_owned(),
        logins_ended: ended.len() as u64,
        disabled: request.disable,
        revoked_at: recorded
            .first()
            .and_then(|r| r.revoked_at.format(&Rfc3339).ok())
            .unwrap_or_default(),
        source_identities,
        roles,
        too_large,
    })
}

/// The served roles whose policy cannot hold every revocation in force. The revocation is
/// committed by now, so a failure to check is logged, not answered: the worker's own attempts
/// are audited either way.
async fn too_large(state: &AppState, now: time::OffsetDateTime) -> Vec<RoleRefusal> {
    match state.revocations.recorded(now).await {
        Ok(refused) => refused
            .into_iter()
            .map(|(role, e)| RoleRefusal {
                role,
                message: e.to_string(),
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not check the revocation policies' size");
            Vec::new()
        }
    }
}
