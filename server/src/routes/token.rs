//! `POST /oauth/token`: codes, refresh tokens, device codes and CI tokens become access tokens.
//! The client is authenticated first (`login::client_auth`), then held to its grants.

use axum::{
    extract::{rejection::FormRejection, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use vault_api::GRANT_TOKEN_EXCHANGE;

use crate::{
    audit::bounds::cut_str,
    clients::Grant,
    clock,
    error::{OAuthCode, OAuthError},
    login::{
        self, client_auth,
        refusal::{self, Attempt},
    },
    request_meta::RequestMeta,
    state::AppState,
};

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    /// `client_secret_post` (RFC 6749 §2.3.1).
    client_secret: Option<String>,
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
    headers: HeaderMap,
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
    let (id, secret) = (f.client_id.as_deref(), f.client_secret.as_deref());
    let endpoint = "/oauth/token";
    let client =
        client_auth::identify(&state, &meta, &headers, id, secret, endpoint, grant).await?;
    let attempt = Attempt {
        endpoint,
        grant,
        client_id: client.map(|c| c.id.as_str()),
        ..Attempt::default()
    };
    // Refusals are audited here, except those of the token exchange and of refresh tokens,
    // which their flows record themselves (with what only they know).
    let refuse = |e: OAuthError| refusal::refused(&state, &meta, attempt, e);
    // CI jobs are not OAuth clients of ours: their token is the credential, so the exchange is
    // answered whichever client (if any) asks.
    if grant == Some(GRANT_TOKEN_EXCHANGE) {
        let (token, kind) = (f.subject_token.as_deref(), f.subject_token_type.as_deref());
        let tokens = login::ci_exchange::exchange(&state, &meta, token, kind, now).await?;
        return Ok(Json(tokens).into_response());
    }
    let Some(client) = client else {
        // `identify` refused this already; never reached.
        return Err(OAuthError::new(
            OAuthCode::InvalidClient,
            "client_id is required",
        ));
    };
    let Some(wanted) = grant.and_then(Grant::from_wire) else {
        return Err(refuse(match grant {
            Some(other) => OAuthError::new(
                OAuthCode::UnsupportedGrantType,
                format!("grant type `{}` is not supported", cut_str(other, 64)),
            ),
            None => OAuthError::missing("grant_type"),
        })
        .await);
    };
    if !client.allows(wanted) {
        let grant = format!("the `{}` grant", wanted.as_str());
        return Err(refuse(OAuthError::not_allowed(&client.id, &grant)).await);
    }
    let tokens = match wanted {
        Grant::AuthorizationCode => {
            let (code, redirect_uri, verifier) = match (
                required(&f.code, "code"),
                required(&f.redirect_uri, "redirect_uri"),
                required(&f.code_verifier, "code_verifier"),
            ) {
                (Ok(c), Ok(r), Ok(v)) => (c, r, v),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Err(refuse(e).await),
            };
            let result =
                login::code::redeem(&state, &meta, client, code, redirect_uri, verifier, now).await;
            let attempt = Attempt {
                presented: Some(code),
                ..attempt
            };
            refusal::audited(&state, &meta, attempt, result).await?
        }
        Grant::RefreshToken => {
            let presented = match required(&f.refresh_token, "refresh_token") {
                Ok(p) => p,
                Err(e) => return Err(refuse(e).await),
            };
            login::refresh::refresh(&state, &meta, client, presented, now).await?
        }
        Grant::DeviceCode => {
            let device_code = match required(&f.device_code, "device_code") {
                Ok(d) => d,
                Err(e) => return Err(refuse(e).await),
            };
            let result = login::device::poll(&state, &meta, client, device_code, now).await;
            let attempt = Attempt {
                presented: Some(device_code),
                ..attempt
            };
            refusal::audited(&state, &meta, attempt, result).await?
        }
    };
    Ok(Json(tokens).into_response())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::missing(name))
}
