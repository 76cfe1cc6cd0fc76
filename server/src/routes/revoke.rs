//! `POST /oauth/revoke` (RFC 7009): `vault logout` ends the whole login session.

use axum::{
    extract::{rejection::FormRejection, State},
    Form, Json,
};
use serde::Deserialize;

use crate::{clock, error::OAuthError, login, request_meta::RequestMeta, state::AppState};

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
        .ok_or_else(|| OAuthError::missing("token"))?;
    login::logout::logout(&state, &meta, &token, clock::now()).await?;
    Ok(Json(serde_json::json!({})))
}
