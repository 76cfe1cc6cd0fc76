//! Discovery: RFC 8414 metadata and the JWKS of our access-token signing keys.

use axum::{extract::State, Json};
use vault_api::{AuthorizationServerMetadata, GRANT_DEVICE_CODE, GRANT_TOKEN_EXCHANGE};

use crate::{clock, error::ApiError, state::AppState};

/// Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1): public
/// clients send `client_id` alone, confidential ones their secret by HTTP Basic or in the form.
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];

/// `GET /.well-known/oauth-authorization-server`
pub async fn metadata(State(state): State<AppState>) -> Json<AuthorizationServerMetadata> {
    let auth_methods: Vec<String> = AUTH_METHODS.map(String::from).to_vec();
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
            GRANT_TOKEN_EXCHANGE.into(),
        ],
        code_challenge_methods_supported: vec!["S256".into()],
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
    })
}

/// `GET /.well-known/jwks.json`
pub async fn jwks(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.tokens.jwks(clock::now()).await?))
}
