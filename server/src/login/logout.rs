//! Logout (RFC 7009 revocation): a client presenting one of its refresh tokens ends the whole
//! login session.

use time::OffsetDateTime;

use crate::{
    audit::{AuditEvent, Outcome},
    clients::Client,
    db,
    error::{OAuthCode, OAuthError},
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// Revokes the login `token` belongs to, with a `logout` event. An unknown or already revoked
/// token is not an error (RFC 7009 §2.2), so the answer reveals nothing; a token issued to
/// another client is refused with `unauthorized_client` and stays valid (RFC 7009 §2.1).
pub async fn logout(
    state: &AppState,
    meta: &RequestMeta,
    client: &Client,
    token: &str,
    now: OffsetDateTime,
) -> Result<(), OAuthError> {
    let hash = secrets::digest(token);
    let owner = db::sessions::owner_of_token(&state.db, &hash).await?;
    if owner.is_some_and(|o| o.client_id != client.id) {
        return Err(OAuthError::new(
            OAuthCode::UnauthorizedClient,
            "this token was issued to another client; it was not revoked",
        ));
    }
    let mut tx = state.db.begin().await?;
    let mut revoked = None;
    if let Some(session_id) = db::refresh::session_of(&mut *tx, &hash).await? {
        if let Some(s) = db::sessions::find_active(&mut *tx, session_id, now).await? {
            db::sessions::revoke(&mut *tx, session_id, "logout", now).await?;
            let event = AuditEvent::new("logout", Outcome::Success, meta, now)
                .by(s.actor())
                .detail("client_id", &client.id);
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
