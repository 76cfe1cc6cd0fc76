//! `POST /oauth/token`: codes, refresh tokens, device codes and CI tokens become access tokens.

use axum::{
    extract::{rejection::FormRejection, State},
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use vault_api::{GRANT_DEVICE_CODE, GRANT_TOKEN_EXCHANGE};

use crate::{
    audit::bounds::cut_str,
    clock,
    error::{OAuthCode, OAuthError},
    login::{
        self,
        refusal::{self, Attempt},
    },
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
    let f = match form {
        Ok(Form(f)) => f,
        Err(rejection) => {
            let attempt = Attempt::default();
            return Err(refusal::refused(&state, &meta, attempt, rejection.into()).await);
        }
    };
    let now = clock::now();
    let grant = f.grant_type.as_deref();
    let attempt = Attempt {
        endpoint: "/oauth/token",
        grant,
        client_id: f.client_id.as_deref(),
        presented: None,
    };
    // Refusals are audited here, except those of the token exchange and of refresh tokens,
    // which their flows record themselves (with what only they know).
    let refuse = |e: OAuthError| refusal::refused(&state, &meta, attempt, e);
    // CI jobs are not OAuth clients of ours: their token is the credential.
    if grant != Some(GRANT_TOKEN_EXCHANGE) || f.client_id.is_some() {
        if let Err(e) = OAuthError::check_client(f.client_id.as_deref()) {
            return Err(refuse(e).await);
        }
    }
    let tokens = match grant {
        Some("authorization_code") => {
            let (code, redirect_uri, verifier) = match (
                required(&f.code, "code"),
                required(&f.redirect_uri, "redirect_uri"),
                required(&f.code_verifier, "code_verifier"),
            ) {
                (Ok(c), Ok(r), Ok(v)) => (c, r, v),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Err(refuse(e).await),
            };
            let result =
                login::code::redeem(&state, &meta, code, redirect_uri, verifier, now).await;
            let attempt = Attempt {
                presented: Some(code),
                ..attempt
            };
            refusal::audited(&state, &meta, attempt, result).await?
        }
        Some("refresh_token") => {
            let presented = match required(&f.refresh_token, "refresh_token") {
                Ok(p) => p,
                Err(e) => return Err(refuse(e).await),
            };
            login::refresh::refresh(&state, &meta, presented, now).await?
        }
        Some(GRANT_DEVICE_CODE) => {
            let device_code = match required(&f.device_code, "device_code") {
                Ok(d) => d,
                Err(e) => return Err(refuse(e).await),
            };
            let result = login::device::poll(&state, &meta, device_code, now).await;
            let attempt = Attempt {
                presented: Some(device_code),
                ..attempt
            };
            refusal::audited(&state, &meta, attempt, result).await?
        }
        Some(GRANT_TOKEN_EXCHANGE) => {
            let (token, kind) = (f.subject_token.as_deref(), f.subject_token_type.as_deref());
            login::ci_exchange::exchange(&state, &meta, token, kind, now).await?
        }
        Some(other) => {
            return Err(refuse(OAuthError::new(
                OAuthCode::UnsupportedGrantType,
                format!("grant type `{}` is not supported", cut_str(other, 64)),
            ))
            .await)
        }
        None => return Err(refuse(OAuthError::missing("grant_type")).await),
    };
    Ok(Json(tokens).into_response())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::missing(name))
}
