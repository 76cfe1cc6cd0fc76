//! Logout (RFC 7009 revocation): presenting a refresh token ends its whole login session.

use time::OffsetDateTime;

use crate::{
    audit::{AuditEvent, Outcome},
    db,
    error::OAuthError,
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// Revokes the login `token` belongs to, with a `logout` event. An unknown or already revoked
/// token is not an error (RFC 7009 §2.2), so the answer reveals nothing.
pub async fn logout(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    now: OffsetDateTime,
) -> Result<(), OAuthError> {
    let mut tx = state.db.begin().await?;
    let mut revoked = None;
    if let Some(session_id) = db::refresh::session_of(&mut *tx, &secrets::digest(token)).await? {
        if let Some(s) = db::sessions::find_active(&mut *tx, session_id, now).await? {
            db::sessions::revoke(&mut *tx, session_id, "logout", now).await?;
            let event = AuditEvent::new("logout", Outcome::Success, meta, now).by(s.actor());
            db::audit::append(&mut tx, &[event]).await?;
            revoked = Some(session_id);
        }
    }
    tx.commit().await?;
    if let Some(session_id) = revoked {
        state.sessions.forget(session_id);
    }
    Ok(())
}
