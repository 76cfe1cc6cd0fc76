//! Device authorization (RFC 8628): `POST /oauth/device` for the CLI, and the `/device` page
//! where the person confirms the code and goes on to the IdP.

use axum::{
    extract::{
        rejection::{FormRejection, QueryRejection},
        Query, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form, Json,
};
use serde::Deserialize;

use crate::{
    clock,
    error::{ApiError, OAuthError},
    login::{
        self,
        refusal::{self, Attempt},
    },
    request_meta::RequestMeta,
    routes::pages::{api_error_page, error_page, escape, page},
    secrets,
    state::AppState,
};

const CSRF_COOKIE: &str = "vault_device_csrf";

#[derive(Debug, Deserialize)]
pub struct DeviceRequest {
    client_id: Option<String>,
}

/// `POST /oauth/device`
pub async fn authorize_device(
    State(state): State<AppState>,
    meta: RequestMeta,
    form: Result<Form<DeviceRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let attempt = |client_id| Attempt {
        endpoint: "/oauth/device",
        client_id,
        ..Attempt::default()
    };
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return Err(refusal::refused(&state, &meta, attempt(None), e.into()).await),
    };
    if let Err(e) = OAuthError::check_client(f.client_id.as_deref()) {
        let attempt = attempt(f.client_id.as_deref());
        return Err(refusal::refused(&state, &meta, attempt, e).await);
    }
    let body = login::device::start(&state, clock::now()).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DevicePageParams {
    user_code: Option<String>,
}

/// `GET /device`: asks the person to confirm the code their terminal shows.
pub async fn page_get(params: Result<Query<DevicePageParams>, QueryRejection>) -> Response {
    let code = params
        .ok()
        .and_then(|Query(p)| p.user_code)
        .unwrap_or_default();
    let csrf = secrets::random_token("");
    let html = format!(
        "<p>Check that this code matches the one in your terminal, then continue to log in.</p>\
         <form method=\"post\" action=\"/device\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>Code <input name=\"user_code\" value=\"{}\" autocomplete=\"off\" required></label> \
         <button name=\"confirm\" value=\"yes\">Continue</button></form>",
        escape(&code)
    );
    let mut response = page(StatusCode::OK, "Log in a device", &html);
    let cookie =
        format!("{CSRF_COOKIE}={csrf}; Path=/device; HttpOnly; SameSite=Strict; Max-Age=600");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie.parse().expect("ASCII cookie"));
    response
}

#[derive(Debug, Deserialize)]
pub struct DeviceConfirm {
    csrf: String,
    user_code: String,
    confirm: Option<String>,
}

/// `POST /device`: the person confirmed; send them to the IdP for this device.
pub async fn page_post(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Result<Form<DeviceConfirm>, FormRejection>,
) -> Response {
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_page(
                e.status(),
                "The form was too large; open the link from your terminal again.",
            );
        }
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The form was incomplete; open the link from your terminal again.",
            )
        }
    };
    let cookie_ok = cookie(&headers, CSRF_COOKIE).is_some_and(|c| secrets::same(&c, &f.csrf));
    if !cookie_ok || f.confirm.as_deref() != Some("yes") {
        return error_page(StatusCode::BAD_REQUEST, "This confirmation did not come from the device page; open the link from your terminal again.");
    }
    match login::device::confirm(&state, &f.user_code, clock::now()).await {
        Ok(upstream) => Redirect::to(upstream.as_str()).into_response(),
        // Not a pending login's code: one audited refusal (guessing codes leaves a trail).
        Err(e @ ApiError::BadRequest(_)) => {
            match refusal::user_code_refused(&state, &meta, &f.user_code).await {
                Ok(()) => api_error_page(e),
                Err(failed) => api_error_page(failed.into()),
            }
        }
        Err(e) => api_error_page(e),
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
