//! `POST /oauth/token`: codes, refresh tokens and device codes become access tokens.

use axum::{
    extract::{rejection::FormRejection, State},
    http::header,
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;
use vault_api::{TokenResponse, GRANT_DEVICE_CODE, GRANT_TOKEN_EXCHANGE};

use crate::{
    audit::{AuditEvent, Outcome},
    clock,
    db::{self, logins::CodeRedemption, refresh::Presented, sessions::ActiveSession},
    error::OAuthError,
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    device_code: Option<String>,
    pub(super) subject_token: Option<String>,
    pub(super) subject_token_type: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    meta: RequestMeta,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(f) = form?;
    let now = clock::now();
    // CI jobs are not OAuth clients of ours: their token is the credential.
    if f.grant_type.as_deref() == Some(GRANT_TOKEN_EXCHANGE) && f.client_id.is_none() {
        return super::ci_exchange::exchange(&state, &meta, &f, now).await;
    }
    OAuthError::check_client(f.client_id.as_deref())?;
    let tokens = match f.grant_type.as_deref() {
        Some("authorization_code") => redeem_code(&state, &f, now).await?,
        Some("refresh_token") => refresh(&state, &meta, &f, now).await?,
        Some(GRANT_DEVICE_CODE) => device(&state, &f, now).await?,
        Some(GRANT_TOKEN_EXCHANGE) => {
            return super::ci_exchange::exchange(&state, &meta, &f, now).await
        }
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant type `{other}` is not supported"),
            ))
        }
        None => return Err(OAuthError::new("invalid_request", "grant_type is required")),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(tokens)).into_response())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", format!("{name} is required")))
}

async fn redeem_code(
    state: &AppState,
    f: &TokenForm,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let code = required(&f.code, "code")?;
    let redirect_uri = required(&f.redirect_uri, "redirect_uri")?;
    let verifier = required(&f.code_verifier, "code_verifier")?;
    let mut tx = state.db.begin().await?;
    let granted = match db::logins::redeem_code(&mut tx, &secrets::digest(code), now).await? {
        CodeRedemption::Fresh(c) => c,
        CodeRedemption::Reused { session_id } => {
            db::sessions::revoke(&mut *tx, session_id, "authorization code reused", now).await?;
            tx.commit().await?;
            state.sessions.forget(session_id);
            return Err(OAuthError::new(
                "invalid_grant",
                "authorization code already used; the login was revoked",
            ));
        }
        CodeRedemption::Unknown => {
            return Err(OAuthError::new(
                "invalid_grant",
                "authorization code is invalid or expired",
            ))
        }
    };
    if granted.redirect_uri != redirect_uri {
        return Err(OAuthError::new(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ));
    }
    if !secrets::same(&secrets::pkce_challenge(verifier), &granted.code_challenge) {
        return Err(OAuthError::new(
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ));
    }
    let (tokens, _) = issue_pair(state, &mut tx, granted.session_id, now).await?;
    tx.commit().await?;
    Ok(tokens)
}

async fn refresh(
    state: &AppState,
    meta: &RequestMeta,
    f: &TokenForm,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let presented = required(&f.refresh_token, "refresh_token")?;
    let mut tx = state.db.begin().await?;
    let session_id = match db::refresh::present(&mut tx, &secrets::digest(presented), now).await? {
        Presented::Fresh { session_id } => session_id,
        Presented::Reused { session_id } => {
            let who = db::sessions::find_active(&mut *tx, session_id, now).await?;
            db::sessions::revoke(&mut *tx, session_id, "refresh token reused", now).await?;
            let mut event = AuditEvent::new("refresh_token_reuse", Outcome::Denied, meta, now)
                .reason("a refresh token was presented twice; the login session was revoked")
                .detail("session_id", session_id);
            if let Some(s) = who {
                event = event.principal(Some(s.principal_id), &s.display, &s.kind);
            }
            db::audit::append(&mut tx, &[event]).await?;
            tx.commit().await?;
            state.sessions.forget(session_id);
            return Err(OAuthError::new(
                "invalid_grant",
                "this refresh token was already used, so the login session was revoked as a precaution; run `vault login`",
            ));
        }
        Presented::Expired | Presented::Unknown => {
            return Err(OAuthError::new(
                "invalid_grant",
                "refresh token is invalid or expired; run `vault login`",
            ))
        }
    };
    let (tokens, s) = issue_pair(state, &mut tx, session_id, now).await?;
    let event = AuditEvent::new("token_refresh", Outcome::Success, meta, now)
        .principal(Some(s.principal_id), &s.display, &s.kind)
        .detail("session_id", session_id);
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(tokens)
}

async fn device(
    state: &AppState,
    f: &TokenForm,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let device_code = required(&f.device_code, "device_code")?;
    let mut tx = state.db.begin().await?;
    let row = db::device::poll(&mut *tx, &secrets::digest(device_code), now)
        .await?
        .ok_or_else(|| OAuthError::new("invalid_grant", "unknown device code"))?;
    tx.commit().await?;
    if row.expires_at <= now {
        return Err(OAuthError::new(
            "expired_token",
            "the device code expired; run `vault login --device` again",
        ));
    }
    match row.status.as_str() {
        "pending" => {
            let interval = time::Duration::seconds(row.interval_seconds.into());
            let too_soon = row.last_polled_at.is_some_and(|last| now - last < interval);
            Err(if too_soon {
                OAuthError::new("slow_down", "polling too fast")
            } else {
                OAuthError::new("authorization_pending", "waiting for the person to approve")
            })
        }
        "approved" => {
            let mut tx = state.db.begin().await?;
            let session_id = db::device::consume(&mut *tx, row.id)
                .await?
                .ok_or_else(|| OAuthError::new("invalid_grant", "device code already used"))?;
            let (tokens, _) = issue_pair(state, &mut tx, session_id, now).await?;
            tx.commit().await?;
            Ok(tokens)
        }
        "denied" => Err(OAuthError::new("access_denied", "the login was refused")),
        _ => Err(OAuthError::new("invalid_grant", "device code already used")),
    }
}

/// A fresh access token and a new refresh token for a live session.
async fn issue_pair(
    state: &AppState,
    conn: &mut PgConnection,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<(TokenResponse, ActiveSession), OAuthError> {
    let session = db::sessions::find_active(&mut *conn, session_id, now)
        .await?
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_grant",
                "the login session was revoked or has expired; run `vault login`",
            )
        })?;
    let refresh = secrets::random_token("tvr_");
    db::refresh::insert(
        &mut *conn,
        &secrets::digest(&refresh),
        session_id,
        now,
        session.expires_at,
    )
    .await?;
    let (access_token, expires_in) =
        state
            .tokens
            .issue(session.principal_id, session_id, &session.display, now);
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
