//! `GET /oauth/authorize`: the CLI's browser login starts here and goes on to the IdP. A person
//! is looking at the answer, so refusals are readable pages.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use crate::{
    login::authorize::{self, AuthorizeRequest},
    routes::pages::{api_error_page, error_page},
    state::AppState,
};

/// Validates the CLI's request, remembers it, and sends the browser to the IdP.
pub async fn authorize(
    State(state): State<AppState>,
    params: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let Ok(Query(p)) = params else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This login link is malformed; start again with `vault login`.",
        );
    };
    match authorize::authorize(&state, &p).await {
        Ok(upstream) => Redirect::to(upstream.as_str()).into_response(),
        Err(e) => api_error_page(e),
    }
}
