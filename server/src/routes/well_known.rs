//! Discovery: RFC 8414 metadata and the JWKS of our access-token signing keys.

use axum::{extract::State, Json};
use vault_api::{AuthorizationServerMetadata, GRANT_DEVICE_CODE};

use crate::{clock, error::ApiError, state::AppState};

/// `GET /.well-known/oauth-authorization-server`
pub async fn metadata(State(state): State<AppState>) -> Json<AuthorizationServerMetadata> {
    Json(AuthorizationServerMetadata {
        issuer: state.url(""),
        authorization_endpoint: state.url("/oauth/authorize"),
        token_endpoint: state.url("/oauth/token"),
        device_authorization_endpoint: state.url("/oauth/device"),
        revocation_endpoint: state.url("/oauth/revoke"),
        jwks_uri: state.url("/.well-known/jwks.json"),
        response_types_supported: vec!["code".into()],
        grant_types_supported: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            GRANT_DEVICE_CODE.into(),
        ],
        code_challenge_methods_supported: vec!["S256".into()],
        token_endpoint_auth_methods_supported: vec!["none".into()],
    })
}

/// `GET /.well-known/jwks.json`
pub async fn jwks(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.tokens.jwks(clock::now()).await?))
}
