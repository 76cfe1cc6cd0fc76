//! Token pairs: a fresh access token and (for a client allowed the refresh grant) a new refresh
//! token for a live login session.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;
use vault_api::TokenResponse;

use crate::{
    db::{self, sessions::ActiveSession},
    error::{OAuthCode, OAuthError},
    secrets,
    state::AppState,
};

/// Issues the pair inside the caller's transaction; the session must still be live. Without
/// `with_refresh` there is only the access token.
pub(super) async fn issue(
    state: &AppState,
    conn: &mut PgConnection,
    session_id: Uuid,
    with_refresh: bool,
    now: OffsetDateTime,
) -> Result<(TokenResponse, ActiveSession), OAuthError> {
    let session = db::sessions::find_active(&mut *conn, session_id, now)
        .await?
        .ok_or_else(|| {
            OAuthError::new(
                OAuthCode::InvalidGrant,
                "the login session was revoked or has expired; run `vault login`",
            )
        })?;
    if session.disabled {
        return Err(OAuthError::new(
            OAuthCode::InvalidGrant,
            format!(
                "{} was disabled by an admin; ask an admin to run `vault admin enable`",
                session.principal.display
            ),
        ));
    }
    let refresh = if with_refresh {
        let token = secrets::random_token("tvr_");
        let hash = secrets::digest(&token);
        db::refresh::insert(&mut *conn, &hash, session_id, now, session.expires_at).await?;
        Some(token)
    } else {
        None
    };
    let (access_token, expires_in) = state.tokens.issue(
        session.principal.id,
        session_id,
        &session.principal.display,
        now,
    );
    let tokens = TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: refresh,
        scope: None,
        issued_token_type: None,
    };
    Ok((tokens, session))
}
