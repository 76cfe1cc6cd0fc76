//! `POST /oauth/revoke` (RFC 7009): `vault logout` ends the whole login session.

use axum::{
    extract::{rejection::FormRejection, State},
    Form, Json,
};
use serde::Deserialize;

use crate::{
    audit::{AuditEvent, Outcome},
    clock, db,
    error::OAuthError,
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
}

/// Always 200 for an unknown token (RFC 7009 §2.2), so it reveals nothing.
pub async fn revoke(
    State(state): State<AppState>,
    meta: RequestMeta,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Result<Json<serde_json::Value>, OAuthError> {
    let Form(f) = form?;
    let token = f
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
    let now = clock::now();
    let mut tx = state.db.begin().await?;
    let mut revoked = None;
    if let Some(session_id) = db::refresh::session_of(&mut *tx, &secrets::digest(&token)).await? {
        if let Some(s) = db::sessions::find_active(&mut *tx, session_id, now).await? {
            db::sessions::revoke(&mut *tx, session_id, "logout", now).await?;
            let event = AuditEvent::new("logout", Outcome::Success, &meta, now)
                .principal(Some(s.principal_id), &s.display, &s.kind)
                .detail("session_id", session_id);
            db::audit::append(&mut tx, &[event]).await?;
            revoked = Some(session_id);
        }
    }
    tx.commit().await?;
    if let Some(session_id) = revoked {
        state.sessions.forget(session_id);
    }
    Ok(Json(serde_json::json!({})))
}
