//! `GET /oauth/authorize`: the CLI's browser login starts here and goes on to the IdP.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    response::Redirect,
};

use crate::{
    error::ApiError,
    login::authorize::{self, AuthorizeRequest},
    state::AppState,
};

/// Validates the CLI's request, remembers it, and sends the browser to the IdP.
pub async fn authorize(
    State(state): State<AppState>,
    params: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Result<Redirect, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let upstream = authorize::authorize(&state, &p).await?;
    Ok(Redirect::to(upstream.as_str()))
}
