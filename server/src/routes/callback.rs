//! `GET /oauth/callback`: the IdP sends the browser back; the login finishes in
//! [`crate::login::callback`] and the browser is redirected or shown the result.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use crate::{
    login::callback::{self, Callback, Finished},
    request_meta::RequestMeta,
    routes::{
        cookies,
        pages::{api_error_page, error_page, escape, page},
    },
    state::AppState,
};

/// The most of the IdP's `error` and `error_description` that is kept, in characters.
const MAX_IDP_ERROR: usize = 64;
const MAX_IDP_ERROR_DESCRIPTION: usize = 256;

pub async fn callback(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    params: Result<Query<Callback>, QueryRejection>,
) -> Response {
    let mut p = params.map(|Query(p)| p).unwrap_or_default();
    // The IdP's words reach the audit trail and the CLI's redirect: bounded, whatever was sent.
    p.error = p.error.map(|e| truncate(e, MAX_IDP_ERROR));
    p.error_description = p
        .error_description
        .map(|d| truncate(d, MAX_IDP_ERROR_DESCRIPTION));
    let browser = cookies::presented_binding(&state, &headers);
    match callback::finish(&state, &meta, p, browser.as_deref()).await {
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
        Ok(Finished::OtherBrowser) => page(
            StatusCode::FORBIDDEN,
            "Login refused",
            "<p>This login was started in another browser, so it was not finished here and \
             nothing was approved.</p>\
             <p>If you are logging in yourself, start again from your own terminal \
             (<code>vault login</code> or <code>vault login --device</code>) and finish in the \
             browser it opens. If someone sent you this link, do not continue: it would have \
             given them access as you. Tell your administrators.</p>",
        ),
        Err(e) => api_error_page(e),
    }
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
fn truncate(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn long_idp_errors_are_cut_on_a_character_boundary_and_marked() {
        assert_eq!(truncate("ééééé".into(), 3), "ééé…");
        assert_eq!(truncate("short".into(), 64), "short");
    }
}
