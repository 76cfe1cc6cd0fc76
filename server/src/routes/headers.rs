//! Response headers every answer gets from one layer: a Content-Security-Policy with no inline
//! script and no framing, no sniffing, no referrer; pages and answers that carry credentials or
//! tokens are never cached.

use axum::{
    extract::{Request, State},
    http::{header, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

use super::pages::STYLE_HASH;

/// Paths whose answers carry tokens, codes or AWS credentials (errors included).
const NO_STORE: &[&str] = &[
    "/oauth/token",
    "/oauth/device",
    "/oauth/revoke",
    "/v1/credentials",
    "/assume-role",
];

/// The headers of this server, built once from its IdP's origin.
#[derive(Clone)]
pub struct Headers {
    csp: HeaderValue,
}

impl Headers {
    /// `idp_origin` (`https://idp.example.com`) is where the device page's Approve form
    /// continues: browsers hold a form's redirect to `form-action` too.
    pub fn new(idp_origin: &str) -> Self {
        let csp = format!(
            "default-src 'none'; style-src {}; form-action 'self' {idp_origin}; \
             frame-ancestors 'none'; base-uri 'none'",
            *STYLE_HASH
        );
        Headers {
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static(
                    "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
                )
            }),
        }
    }
}

/// Middleware: sets the headers on every answer.
pub async fn set(State(h): State<Headers>, request: Request, next: Next) -> Response {
    let no_store = NO_STORE.contains(&request.uri().path());
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    // On every answer, not only pages: whatever a browser is shown, it runs no script.
    headers.insert(header::CONTENT_SECURITY_POLICY, h.csp);
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if html || no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
