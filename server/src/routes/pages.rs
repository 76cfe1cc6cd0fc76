//! The few HTML pages a person sees in the browser (login result, device confirmation).

use std::sync::LazyLock;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The one stylesheet of every page, inline: the Content-Security-Policy allows it by its hash
/// ([`STYLE_HASH`]), and nothing else inline.
const STYLE: &str =
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}\
     code{font-size:1.4em;letter-spacing:.1em}dt{font-weight:bold}";

/// `'sha256-…'` of [`STYLE`], for `style-src`.
pub static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
    )
});

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A minimal page with a title and a paragraph of already-escaped HTML.
pub fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t} · team-vault</title>\
         <style>{STYLE}</style></head>\
         <body><h1>{t}</h1>{body_html}</body></html>",
        t = escape(title)
    );
    // The security headers of every page are set in `routes/headers.rs`.
    (status, Html(html)).into_response()
}

/// A page explaining a failure in one sentence.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Login failed",
        &format!("<p>{}</p>", escape(message)),
    )
}

/// The page for an API failure: its status and the text the client may see (and when to try
/// again, for a rate limit).
pub fn api_error_page(e: ApiError) -> Response {
    let retry_after = match &e {
        ApiError::RateLimited(r) => Some(r.retry_after_secs),
        _ => None,
    };
    let (status, _, message) = e.into_public();
    let mut page = error_page(status, &message);
    if let Some(secs) = retry_after {
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    page
}
