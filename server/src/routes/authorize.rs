//! `GET /oauth/authorize`: the CLI's browser login starts here and goes on to the IdP. A person
//! is looking at the answer, so refusals are readable pages.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use crate::{
    login::authorize::{self, AuthorizeRequest},
    routes::{
        cookies,
        pages::{api_error_page, error_page},
    },
    state::AppState,
};

/// Validates the CLI's request, remembers it, and sends the browser to the IdP with the
/// binding cookie `/oauth/callback` will ask for.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let Ok(Query(p)) = params else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This login link is malformed; start again with `vault login`.",
        );
    };
    let (browser, set_cookie) = cookies::binding(&state, &headers);
    match authorize::authorize(&state, &p, &browser).await {
        Ok(upstream) => (
            [(header::SET_COOKIE, set_cookie)],
            Redirect::to(upstream.as_str()),
        )
            .into_response(),
        Err(e) => api_error_page(e),
    }
}
