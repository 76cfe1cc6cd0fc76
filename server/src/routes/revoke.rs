//! `POST /oauth/revoke` (RFC 7009): a client ends the login one of its refresh tokens belongs to
//! (`vault logout`). The client authenticates as at `/oauth/token`.

use axum::{
    extract::{rejection::FormRejection, State},
    http::HeaderMap,
    Form, Json,
};
use serde::Deserialize;

use crate::{
    clock,
    error::OAuthError,
    login::{
        self, client_auth,
        refusal::{self, Attempt},
    },
    request_meta::RequestMeta,
    state::AppState,
};

const ENDPOINT: &str = "/oauth/revoke";

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Always 200 for an unknown token (RFC 7009 §2.2), so it reveals nothing; refusals are audited.
pub async fn revoke(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Result<Json<serde_json::Value>, OAuthError> {
    let attempt = Attempt {
        endpoint: ENDPOINT,
        ..Attempt::default()
    };
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return Err(refusal::refused(&state, &meta, attempt, e.into()).await),
    };
    let (id, secret) = (f.client_id.as_deref(), f.client_secret.as_deref());
    let client = client_auth::identify(&state, &meta, &headers, id, secret, ENDPOINT, None).await?;
    let attempt = Attempt {
        client_id: client.map(|c| c.id.as_str()),
        presented: f.token.as_deref(),
        ..attempt
    };
    let result = match (client, f.token.as_deref().filter(|t| !t.is_empty())) {
        (Some(client), Some(token)) => {
            login::logout::logout(&state, &meta, client, token, clock::now()).await
        }
        (_, None) => Err(OAuthError::missing("token")),
        // `identify` answers a client whenever no grant is named.
        (None, Some(_)) => Err(OAuthError::missing("client_id")),
    };
    refusal::audited(&state, &meta, attempt, result).await?;
    Ok(Json(serde_json::json!({})))
}
