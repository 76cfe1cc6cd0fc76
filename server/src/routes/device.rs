//! Device authorization (RFC 8628): `POST /oauth/device` for the CLI, and the `/device` page
//! where the person confirms the code and goes on to the IdP.

use axum::{
    extract::{
        rejection::{FormRejection, QueryRejection},
        Query, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use rand::Rng;
use serde::Deserialize;
use vault_api::DeviceAuthorizationResponse;

use crate::{
    clock,
    db::{self, logins::NewPendingLogin},
    error::{ApiError, OAuthError},
    routes::{
        authorize::start_upstream,
        pages::{error_page, escape, page},
    },
    secrets,
    state::AppState,
};

/// How long a device code can wait for approval.
const DEVICE_LIFE: time::Duration = time::Duration::minutes(10);
/// Consonants only: no vowels (no words), no look-alikes such as 0/O or 1/I.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const CSRF_COOKIE: &str = "vault_device_csrf";

#[derive(Debug, Deserialize)]
pub struct DeviceRequest {
    client_id: Option<String>,
}

/// `POST /oauth/device`
pub async fn authorize_device(
    State(state): State<AppState>,
    form: Result<Form<DeviceRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(f) = form?;
    OAuthError::check_client(f.client_id.as_deref())?;
    let now = clock::now();
    let device_code = secrets::random_token("tvd_");
    let user_code = new_user_code();
    let interval = state.config.device_poll_interval.as_secs().max(1);
    db::device::insert(
        &state.db,
        &secrets::digest(&device_code),
        &secrets::digest(&normalize(&user_code)),
        interval as i32,
        now,
        now + DEVICE_LIFE,
    )
    .await?;
    let body = DeviceAuthorizationResponse {
        verification_uri: state.url("/device"),
        verification_uri_complete: state.url(&format!("/device?user_code={user_code}")),
        device_code,
        user_code,
        expires_in: DEVICE_LIFE.whole_seconds() as u64,
        interval,
    };
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
    headers: HeaderMap,
    form: Result<Form<DeviceConfirm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The form was incomplete; open the link from your terminal again.",
        );
    };
    let cookie_ok = cookie(&headers, CSRF_COOKIE).is_some_and(|c| secrets::same(&c, &f.csrf));
    if !cookie_ok || f.confirm.as_deref() != Some("yes") {
        return error_page(StatusCode::BAD_REQUEST, "This confirmation did not come from the device page; open the link from your terminal again.");
    }
    let found = db::device::find_pending_by_user_code(
        &state.db,
        &secrets::digest(&normalize(&f.user_code)),
        clock::now(),
    )
    .await;
    let device_id = match found {
        Ok(Some(id)) => id,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "That code is not valid or has expired; run `vault login --device` again.",
            )
        }
        Err(e) => return error_response(ApiError::from(e)),
    };
    let pending = NewPendingLogin {
        upstream_state_hash: "",
        upstream_verifier: "",
        upstream_nonce: "",
        flow: "device",
        client_redirect_uri: None,
        client_state: None,
        code_challenge: None,
        device_id: Some(device_id),
    };
    start_upstream(&state, pending)
        .await
        .unwrap_or_else(error_response)
}

fn error_response(e: ApiError) -> Response {
    let status = match e {
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_page(status, &e.to_string())
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

/// `XXXX-XXXX` from the consonant alphabet: about 34 bits, enough for a 10-minute code.
fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..8)
        .map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// What people type varies in case and dashes; compare the letters only.
fn normalize(user_code: &str) -> String {
    user_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_two_groups_of_four_consonants() {
        let code = new_user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(code
            .replace('-', "")
            .bytes()
            .all(|b| USER_CODE_ALPHABET.contains(&b)));
    }

    #[test]
    fn typed_codes_match_regardless_of_case_and_dashes() {
        assert_eq!(normalize("bcdf-ghjk"), normalize("BCDFGHJK"));
        assert_eq!(normalize(" bcdf ghjk "), "BCDFGHJK");
    }
}
