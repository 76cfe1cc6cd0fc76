//! Device authorization (RFC 8628): `POST /oauth/device` for clients, and the `/device` page
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
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use vault_api::GRANT_DEVICE_CODE;

use crate::{
    clients::Grant,
    clock,
    db::device::PendingDevice,
    error::{ApiError, OAuthError},
    login::{
        self, client_auth,
        refusal::{self, Attempt},
    },
    request_meta::RequestMeta,
    routes::{
        cookies,
        pages::{api_error_page, error_page, escape, page},
    },
    secrets,
    state::AppState,
};

/// The longest user code looked up: `XXXX-XXXX` with room for spaces; longer is not a code.
const MAX_USER_CODE: usize = 32;

#[derive(Debug, Deserialize)]
pub struct DeviceRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oauth/device`: the client authenticates as at `/oauth/token` (RFC 8628 §3.1) and must
/// be allowed the device grant.
pub async fn authorize_device(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Result<Form<DeviceRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    const ENDPOINT: &str = "/oauth/device";
    let attempt = Attempt {
        endpoint: ENDPOINT,
        grant: Some(GRANT_DEVICE_CODE),
        ..Attempt::default()
    };
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return Err(refusal::refused(&state, &meta, attempt, e.into()).await),
    };
    let (id, secret) = (f.client_id.as_deref(), f.client_secret.as_deref());
    let grant = Some(GRANT_DEVICE_CODE);
    let client =
        client_auth::identify(&state, &meta, &headers, id, secret, ENDPOINT, grant).await?;
    let client = match client {
        Some(c) if c.allows(Grant::DeviceCode) => c,
        other => {
            let id = other.map_or("", |c| c.id.as_str());
            let attempt = Attempt {
                client_id: Some(id),
                ..attempt
            };
            let error = OAuthError::not_allowed(id, "the device grant");
            return Err(refusal::refused(&state, &meta, attempt, error).await);
        }
    };
    let body = login::device::start(&state, &meta, client, clock::now()).await?;
    Ok(Json(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DevicePageParams {
    user_code: Option<String>,
}

/// `GET /device`: with a code (the link the terminal shows), the confirm page for it; without,
/// a form to type the code into.
pub async fn page_get(
    State(state): State<AppState>,
    meta: RequestMeta,
    params: Result<Query<DevicePageParams>, QueryRejection>,
) -> Response {
    let code = params
        .ok()
        .and_then(|Query(p)| p.user_code)
        .unwrap_or_default();
    let csrf = secrets::random_token("");
    let response = if code.trim().is_empty() {
        entry_page(&csrf)
    } else {
        match review(&state, &meta, "GET /device", &code).await {
            Ok(device) => review_page(&state, &csrf, &code, &device, clock::now()),
            Err(page) => return page,
        }
    };
    with_csrf(&state, response, &csrf)
}

#[derive(Debug, Deserialize)]
pub struct DeviceConfirm {
    csrf: String,
    user_code: String,
    /// `yes` (Approve) or `no` (Deny); absent: the typed code is to be reviewed.
    confirm: Option<String>,
}

/// `POST /device`: a typed code is shown for review; Approve sends the person to the IdP for
/// this device (in a browser now bound to the login), Deny ends the authorization.
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
    let cookie_ok =
        cookies::get(&headers, cookies::CSRF).is_some_and(|c| secrets::same(&c, &f.csrf));
    if !cookie_ok {
        return error_page(StatusCode::BAD_REQUEST, "This confirmation did not come from the device page; open the link from your terminal again.");
    }
    let now = clock::now();
    match f.confirm.as_deref() {
        None => match review(&state, &meta, "POST /device", &f.user_code).await {
            Ok(device) => with_csrf(
                &state,
                review_page(&state, &f.csrf, &f.user_code, &device, now),
                &f.csrf,
            ),
            Err(page) => page,
        },
        Some("yes") => {
            if let Err(page) = review(&state, &meta, "POST /device", &f.user_code).await {
                return page;
            }
            let (browser, set_cookie) = cookies::binding(&state, &headers);
            match login::device::confirm(&state, &f.user_code, &browser, now).await {
                Ok(upstream) => (
                    [(header::SET_COOKIE, set_cookie)],
                    Redirect::to(upstream.as_str()),
                )
                    .into_response(),
                Err(e) => api_error_page(e),
            }
        }
        Some("no") => {
            if let Err(page) = review(&state, &meta, "POST /device", &f.user_code).await {
                return page;
            }
            match login::device::deny(&state, &meta, &f.user_code, now).await {
                Ok(()) => page(
                    StatusCode::OK,
                    "Device login refused",
                    "<p>The device was not logged in; its terminal is told so. \
                     You can close this page.</p>",
                ),
                Err(e) => api_error_page(e),
            }
        }
        Some(_) => error_page(
            StatusCode::BAD_REQUEST,
            "Choose Approve or Deny; open the link from your terminal again.",
        ),
    }
}

/// The pending device login `user_code` names, after the lookup limits (`[limits.user_codes]`);
/// a code that names none is one audited refusal (guessing codes leaves a trail).
async fn review(
    state: &AppState,
    meta: &RequestMeta,
    kind: &str,
    user_code: &str,
) -> Result<PendingDevice, Response> {
    let addr = meta.client_addr.as_deref().and_then(|a| a.parse().ok());
    if let Err(limited) = state.limits.check_user_code(addr, kind) {
        return Err(api_error_page(limited.into()));
    }
    let user_code = &user_code[..user_code.floor_char_boundary(MAX_USER_CODE)];
    match login::device::review(state, user_code, clock::now()).await {
        Ok(device) => Ok(device),
        Err(e @ ApiError::BadRequest(_)) => Err(
            match refusal::user_code_refused(state, meta, user_code).await {
                Ok(()) => api_error_page(e),
                Err(failed) => api_error_page(failed.into()),
            },
        ),
        Err(e) => Err(api_error_page(e)),
    }
}

/// The form to type a code into.
fn entry_page(csrf: &str) -> Response {
    let html = format!(
        "<p>Type the code your terminal shows.</p>\
         <form method=\"post\" action=\"/device\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>Code <input name=\"user_code\" autocomplete=\"off\" required></label> \
         <button>Continue</button></form>"
    );
    page(StatusCode::OK, "Log in a device", &html)
}

/// Who asked for this device login (which client, from where, when), with Approve and Deny.
fn review_page(
    state: &AppState,
    csrf: &str,
    code: &str,
    device: &PendingDevice,
    now: OffsetDateTime,
) -> Response {
    let unknown = "unknown".to_owned();
    // A client removed from the config since has only its id.
    let client = match state.config.clients.get(&device.client_id) {
        Some(c) => format!("{} ({})", c.name, c.id),
        None => device.client_id.clone(),
    };
    let asked = device.created_at.format(&Rfc3339).unwrap_or_default();
    let ago = (now - device.created_at).whole_minutes().max(0);
    let html = format!(
        "<p>A device asked to log in as you. Approve only if the code matches the one in your \
         terminal and you started this login yourself.</p>\
         <dl><dt>Code</dt><dd><code>{code}</code></dd>\
         <dt>Client</dt><dd>{client}</dd>\
         <dt>Requested from</dt><dd>{addr}</dd>\
         <dt>Program</dt><dd>{agent}</dd>\
         <dt>Requested at</dt><dd>{asked} ({ago} min ago)</dd></dl>\
         <form method=\"post\" action=\"/device\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"user_code\" value=\"{code}\">\
         <button name=\"confirm\" value=\"yes\">Approve</button> \
         <button name=\"confirm\" value=\"no\">Deny</button></form>",
        code = escape(code),
        client = escape(&client),
        addr = escape(device.client_addr.as_ref().unwrap_or(&unknown)),
        agent = escape(device.user_agent.as_ref().unwrap_or(&unknown)),
        asked = escape(&asked),
    );
    page(StatusCode::OK, "Approve a device login", &html)
}

/// Sets the CSRF cookie that the page's form token must match.
fn with_csrf(state: &AppState, mut response: Response, csrf: &str) -> Response {
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookies::csrf(state, csrf));
    response
}
