//! The `authorization_code` grant: a client redeems the one-time code of a browser login, proving
//! with its PKCE verifier that it is the client that started it. The code belongs to the client
//! the login was for, and to the redirect URI it was sent to.

use time::OffsetDateTime;
use vault_api::TokenResponse;

use crate::{
    audit::{AuditEvent, Outcome},
    clients::{Client, Grant},
    db::{self, logins::CodeRedemption},
    error::{OAuthCode, OAuthError},
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// Redeems `code` once for `client` (a `code_redeem` event in the same transaction as the
/// tokens); a second presentation revokes the login it stood for.
pub async fn redeem(
    state: &AppState,
    meta: &RequestMeta,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let invalid = |why: &str| OAuthError::new(OAuthCode::InvalidGrant, why);
    let mut tx = state.db.begin().await?;
    let granted = match db::logins::redeem_code(&mut tx, &secrets::digest(code), now).await? {
        CodeRedemption::Fresh(c) => c,
        CodeRedemption::Reused { session_id } => {
            db::sessions::revoke(&mut *tx, session_id, "authorization code reused", now).await?;
            tx.commit().await?;
            state.sessions.forget(session_id);
            return Err(invalid(
                "authorization code already used; the login was revoked",
            ));
        }
        CodeRedemption::Unknown => return Err(invalid("authorization code is invalid or expired")),
    };
    // Checked after the code is used up: a code presented by another client is burnt, and its
    // login ends when the rightful client presents it again (as for any replay).
    if granted.client_id != client.id {
        return Err(invalid("authorization code was issued to another client"));
    }
    if granted.redirect_uri != redirect_uri {
        return Err(invalid(
            "redirect_uri does not match the authorization request",
        ));
    }
    if !secrets::same(&secrets::pkce_challenge(verifier), &granted.code_challenge) {
        return Err(invalid("code_verifier does not match the code_challenge"));
    }
    let with_refresh = client.allows(Grant::RefreshToken);
    let (tokens, session) =
        super::pair::issue(state, &mut tx, granted.session_id, with_refresh, now).await?;
    let p = &session.principal;
    let event = AuditEvent::new("code_redeem", Outcome::Success, meta, now)
        .principal(Some(p.id), &p.display, p.kind)
        .detail("client_id", &client.id)
        .detail("session_id", granted.session_id);
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(tokens)
}
