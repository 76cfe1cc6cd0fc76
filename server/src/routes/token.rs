//! `POST /oauth/token`: codes, refresh tokens, device codes and CI tokens become access tokens.

use axum::{
    extract::{rejection::FormRejection, State},
    http::header,
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use vault_api::{GRANT_DEVICE_CODE, GRANT_TOKEN_EXCHANGE};

use crate::{
    clock,
    error::{OAuthCode, OAuthError},
    login,
    request_meta::RequestMeta,
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
    subject_token: Option<String>,
    subject_token_type: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    meta: RequestMeta,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(f) = form?;
    let now = clock::now();
    let grant = f.grant_type.as_deref();
    // CI jobs are not OAuth clients of ours: their token is the credential.
    if grant != Some(GRANT_TOKEN_EXCHANGE) || f.client_id.is_some() {
        OAuthError::check_client(f.client_id.as_deref())?;
    }
    let tokens = match grant {
        Some("authorization_code") => {
            let code = required(&f.code, "code")?;
            let redirect_uri = required(&f.redirect_uri, "redirect_uri")?;
            let verifier = required(&f.code_verifier, "code_verifier")?;
            login::code::redeem(&state, code, redirect_uri, verifier, now).await?
        }
        Some("refresh_token") => {
            let presented = required(&f.refresh_token, "refresh_token")?;
            login::refresh::refresh(&state, &meta, presented, now).await?
        }
        Some(GRANT_DEVICE_CODE) => {
            let device_code = required(&f.device_code, "device_code")?;
            login::device::poll(&state, device_code, now).await?
        }
        Some(GRANT_TOKEN_EXCHANGE) => {
            let (token, kind) = (f.subject_token.as_deref(), f.subject_token_type.as_deref());
            login::ci_exchange::exchange(&state, &meta, token, kind, now).await?
        }
        Some(other) => {
            return Err(OAuthError::new(
                OAuthCode::UnsupportedGrantType,
                format!("grant type `{other}` is not supported"),
            ))
        }
        None => return Err(OAuthError::missing("grant_type")),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(tokens)).into_response())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::missing(name))
}
