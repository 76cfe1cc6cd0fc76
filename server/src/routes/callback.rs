//! `GET /oauth/callback`: the IdP sends the browser back; the login finishes in
//! [`crate::login::callback`] and the browser is redirected or shown the result.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use crate::{
    login::callback::{self, Callback, Finished},
    request_meta::RequestMeta,
    routes::pages::{api_error_page, error_page, escape, page},
    state::AppState,
};

pub async fn callback(
    State(state): State<AppState>,
    meta: RequestMeta,
    params: Result<Query<Callback>, QueryRejection>,
) -> Response {
    let p = params.map(|Query(p)| p).unwrap_or_default();
    match callback::finish(&state, &meta, p).await {
        Ok(Finished::Redirect(target)) => Redirect::to(target.as_str()).into_response(),
        Ok(Finished::DeviceApproved { display }) => page(
            StatusCode::OK,
            "Device approved",
            &format!(
                "<p>Logged in as {}. Return to your terminal; you can close this page.</p>",
                escape(&display)
            ),
        ),
        Ok(Finished::Refused { reason }) => error_page(StatusCode::FORBIDDEN, &reason),
        Err(e) => api_error_page(e),
    }
}
