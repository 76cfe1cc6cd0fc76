//! The few HTML pages a person sees in the browser (login result, device confirmation).

use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use crate::error::ApiError;

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
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}}\
         code{{font-size:1.4em;letter-spacing:.1em}}</style></head>\
         <body><h1>{t}</h1>{body_html}</body></html>",
        t = escape(title)
    );
    (status, [("cache-control", "no-store")], Html(html)).into_response()
}

/// A page explaining a failure in one sentence.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Login failed",
        &format!("<p>{}</p>", escape(message)),
    )
}

/// The page for an API failure: its status and the text the client may see.
pub fn api_error_page(e: ApiError) -> Response {
    let (status, _, message) = e.into_public();
    error_page(status, &message)
}
