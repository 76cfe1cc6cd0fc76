//! The `authorization_code` grant: the CLI redeems the one-time code of a browser login, proving
//! with its PKCE verifier that it is the client that started it.

use time::OffsetDateTime;
use vault_api::TokenResponse;

use crate::{
    audit::{AuditEvent, Outcome},
    db::{self, logins::CodeRedemption},
    error::{OAuthCode, OAuthError},
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// Redeems `code` once for the client `meta` describes (a `code_redeem` event in the same
/// transaction as the tokens); a second presentation revokes the login it stood for.
pub async fn redeem(
    state: &AppState,
    meta: &RequestMeta,
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
    if granted.redirect_uri != redirect_uri {
        return Err(invalid(
            "redirect_uri does not match the authorization request",
        ));
    }
    if !secrets::same(&secrets::pkce_challenge(verifier), &granted.code_challenge) {
        return Err(invalid("code_verifier does not match the code_challenge"));
    }
    let (tokens, session) = super::pair::issue(state, &mut tx, granted.session_id, now).await?;
    let p = &session.principal;
    let event = AuditEvent::new("code_redeem", Outcome::Success, meta, now)
        .principal(Some(p.id), &p.display, p.kind)
        .detail("session_id", granted.session_id);
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(tokens)
}
