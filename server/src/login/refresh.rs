//! The `refresh_token` grant. Refresh tokens rotate on every use; a used one presented again
//! revokes the whole login session (OAuth 2.0 Security BCP), and that is audited.

use time::OffsetDateTime;
use vault_api::TokenResponse;

use crate::{
    audit::{AuditEvent, Outcome},
    clients::Client,
    db::{self, refresh::Presented},
    error::{OAuthCode, OAuthError},
    login::{membership::Checked, refusal::Attempt},
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// New tokens for the refresh token `client` presented, with a `token_refresh` event. A token
/// of another client's login is refused before it is used, so that login goes on.
pub async fn refresh(
    state: &AppState,
    meta: &RequestMeta,
    client: &Client,
    presented: &str,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let hash = secrets::digest(presented);
    // One read gives both the client the login belongs to and, for a refusal below, its age.
    let owner = db::sessions::owner_of_token(&state.db, &hash).await?;
    if owner.as_ref().is_some_and(|o| o.client_id != client.id) {
        let error = OAuthError::new(
            OAuthCode::InvalidGrant,
            "refresh token was issued to another client",
        );
        return Err(refused(state, meta, client, presented, error).await);
    }
    let mut tx = state.db.begin().await?;
    let session_id = match db::refresh::present(&mut tx, &hash, now).await? {
        Presented::Fresh { session_id } => session_id,
        Presented::Reused { session_id } => {
            let who = db::sessions::find_active(&mut *tx, session_id, now).await?;
            db::sessions::revoke(&mut *tx, session_id, "refresh token reused", now).await?;
            let mut event = AuditEvent::new("refresh_token_reuse", Outcome::Denied, meta, now)
                .reason("a refresh token was presented twice; the login session was revoked")
                .detail("session_id", session_id);
            if let Some(s) = &who {
                event = event.by(s.actor());
            }
            db::audit::append(&mut tx, &[event]).await?;
            tx.commit().await?;
            state.sessions.forget(session_id);
            return Err(OAuthError::new(
                OAuthCode::InvalidGrant,
                "this refresh token was already used, so the login session was revoked as a precaution; run `vault login`",
            ));
        }
        Presented::Expired | Presented::Unknown => {
            drop(tx);
            let max_age = state.config.oidc.login.login_max_age;
            let error = match owner.map(|o| o.created_at) {
                Some(at) if now >= at + max_age => OAuthError::new(
                    OAuthCode::InvalidGrant,
                    format!(
                        "this login is older than login_max_age ({}s), the longest a login lasts; run `vault login`",
                        max_age.as_secs()
                    ),
                ),
                _ => OAuthError::new(
                    OAuthCode::InvalidGrant,
                    "refresh token is invalid or expired; run `vault login`",
                ),
            };
            return Err(refused(state, meta, client, presented, error).await);
        }
    };
    match super::membership::check(state, &mut tx, meta, session_id, now).await? {
        Checked::Fresh => {}
        Checked::Revoked(error) => {
            tx.commit().await?;
            state.sessions.forget(session_id);
            return Err(error);
        }
        Checked::Unavailable(error) => {
            drop(tx);
            return Err(error);
        }
    }
    let (tokens, s) = match super::pair::issue(state, &mut tx, session_id, true, now).await {
        Ok(done) => done,
        Err(error) => {
            drop(tx);
            return Err(refused(state, meta, client, presented, error).await);
        }
    };
    db::sessions::touch_refreshed(&mut *tx, session_id, now).await?;
    let event = AuditEvent::new("token_refresh", Outcome::Success, meta, now)
        .by(s.actor())
        .detail("client_id", &client.id);
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(tokens)
}

/// A refusal of the refresh grant, as an `oauth_refused` event (reuse has its own event above).
async fn refused(
    state: &AppState,
    meta: &RequestMeta,
    client: &Client,
    presented: &str,
    error: OAuthError,
) -> OAuthError {
    let attempt = Attempt {
        endpoint: "/oauth/token",
        grant: Some("refresh_token"),
        client_id: Some(&client.id),
        presented: Some(presented),
        ..Attempt::default()
    };
    super::refusal::refused(state, meta, attempt, error).await
}
