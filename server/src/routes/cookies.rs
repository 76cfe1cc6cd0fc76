//! The two cookies of the browser pages, read and written with the `cookie` crate: the login
//! binding (which browser started a login; checked at `/oauth/callback`) and the device page's
//! CSRF token.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

use crate::{login::upstream::LOGIN_WINDOW, secrets, state::AppState};

/// The device page's CSRF cookie (double submit: the form carries the same token).
pub const CSRF: &str = "vault_device_csrf";
/// How long a device page's form stays valid.
const CSRF_LIFE: time::Duration = time::Duration::minutes(10);
/// The binding cookie's name over https: `__Host-` makes browsers refuse it from a sibling
/// domain or over http, so nobody can plant theirs in a victim's browser.
const BINDING_SECURE: &str = "__Host-vault_login";
const BINDING_PLAIN: &str = "vault_login";
/// A binding token is `secrets::random_token("")`: 43 base64url characters.
const BINDING_LEN: usize = 43;

/// The value of cookie `name` the request carries, if any (the first one when repeated).
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` of the device page's CSRF token (only `/device` sees it).
pub fn csrf(state: &AppState, token: &str) -> HeaderValue {
    let c = Cookie::build((CSRF, token.to_owned()))
        .path("/device")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .max_age(CSRF_LIFE);
    value(c.build())
}

/// The browser's binding token: the one it already carries (several logins in one browser
/// share it), else a new one; and the `Set-Cookie` that (re)starts its life.
pub fn binding(state: &AppState, headers: &HeaderMap) -> (String, HeaderValue) {
    let token = presented_binding(state, headers).unwrap_or_else(|| secrets::random_token(""));
    // Lax, not Strict: the IdP's redirect back to /oauth/callback is a cross-site navigation.
    let c = Cookie::build((binding_name(state), token.clone()))
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .max_age(LOGIN_WINDOW);
    (token, value(c.build()))
}

/// The binding token the browser presents, if it is well formed.
pub fn presented_binding(state: &AppState, headers: &HeaderMap) -> Option<String> {
    get(headers, binding_name(state)).filter(|t| {
        t.len() == BINDING_LEN
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn binding_name(state: &AppState) -> &'static str {
    if secure(state) {
        BINDING_SECURE
    } else {
        BINDING_PLAIN
    }
}

/// Cookies are `Secure` when people reach the server over https.
fn secure(state: &AppState) -> bool {
    state.public_url.scheme() == "https"
}

fn value(c: Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&c.to_string()).expect("cookie names and values are ASCII")
}
