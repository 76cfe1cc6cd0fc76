//! Token pairs: a fresh access token and a new refresh token for a live login session.

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

/// Issues the pair inside the caller's transaction; the session must still be live.
pub(super) async fn issue(
    state: &AppState,
    conn: &mut PgConnection,
    session_id: Uuid,
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
    let refresh = secrets::random_token("tvr_");
    db::refresh::insert(
        &mut *conn,
        &secrets::digest(&refresh),
        session_id,
        now,
        session.expires_at,
    )
    .await?;
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
        refresh_token: Some(refresh),
        scope: None,
        issued_token_type: None,
    };
    Ok((tokens, session))
}
