//! Device authorization (RFC 8628): a headless CLI gets a device code and polls, while the
//! person confirms the user code on the `/device` page and logs in upstream.

use rand::Rng;
use time::OffsetDateTime;
use url::Url;
use vault_api::{DeviceAuthorizationResponse, TokenResponse};

use crate::{
    audit::{AuditEvent, Outcome},
    clients::{Client, Grant},
    db::{
        self,
        device::{DeviceStatus, NewDevice, PendingDevice},
        logins::{LoginDestination, LoginFlow},
    },
    error::{ApiError, OAuthCode, OAuthError},
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// How long a device code can wait for approval.
const DEVICE_LIFE: time::Duration = time::Duration::minutes(10);
/// Consonants only: no vowels (no words), no look-alikes such as 0/O or 1/I.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// What each `slow_down` adds to a device's polling interval (RFC 8628 §3.5), and its ceiling.
const SLOW_DOWN_STEP: i32 = 5;
const MAX_INTERVAL: i32 = 60;
/// The most of the requesting client's user agent kept for its confirm page.
const USER_AGENT_CHARS: usize = 200;
/// The message for a code that names no pending device login.
const NO_SUCH_CODE: &str =
    "That code is not valid or has expired; run `vault login --device` again.";

/// A new device authorization for `client` (the request `meta` describes): the device code
/// (for polling, by that client only) and the user code (for people).
pub async fn start(
    state: &AppState,
    meta: &RequestMeta,
    client: &Client,
    now: OffsetDateTime,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let device_code = secrets::random_token("tvd_");
    let user_code = new_user_code();
    let interval = state.config.device_poll_interval.as_secs().clamp(1, 60);
    let user_agent: Option<String> = meta
        .user_agent
        .as_deref()
        .map(|ua| ua.chars().take(USER_AGENT_CHARS).collect());
    let new = NewDevice {
        device_code_hash: &secrets::digest(&device_code),
        user_code_hash: &secrets::digest(&normalize(&user_code)),
        interval_seconds: interval as i32,
        client_addr: meta.client_addr.as_deref(),
        user_agent: user_agent.as_deref(),
        client_id: &client.id,
    };
    db::device::insert(&state.db, &new, now, now + DEVICE_LIFE).await?;
    Ok(DeviceAuthorizationResponse {
        verification_uri: state.url("/device"),
        verification_uri_complete: state.url(&format!("/device?user_code={user_code}")),
        device_code,
        user_code,
        expires_in: DEVICE_LIFE.whole_seconds() as u64,
        interval,
    })
}

/// One poll of the device by `client`: its tokens once approved (with a `device_redeem` event in
/// the same transaction), else why not yet (or not at all). Another client's device code is
/// refused without touching it.
pub async fn poll(
    state: &AppState,
    meta: &RequestMeta,
    client: &Client,
    device_code: &str,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let mut tx = state.db.begin().await?;
    let row = db::device::poll(&mut *tx, &secrets::digest(device_code), now)
        .await?
        .ok_or_else(|| OAuthError::new(OAuthCode::InvalidGrant, "unknown device code"))?;
    if row.client_id != client.id {
        drop(tx);
        return Err(OAuthError::new(
            OAuthCode::InvalidGrant,
            "device code was issued to another client",
        ));
    }
    let interval = time::Duration::seconds(row.interval_seconds.into());
    let too_soon = row.last_polled_at.is_some_and(|last| now - last < interval);
    if too_soon && row.status == DeviceStatus::Pending {
        db::device::slow_down(&mut *tx, row.id, SLOW_DOWN_STEP, MAX_INTERVAL).await?;
    }
    tx.commit().await?;
    if row.expires_at <= now {
        return Err(OAuthError::new(
            OAuthCode::ExpiredToken,
            "the device code expired; run `vault login --device` again",
        ));
    }
    match row.status {
        DeviceStatus::Pending => Err(if too_soon {
            OAuthError::new(OAuthCode::SlowDown, "polling too fast")
        } else {
            OAuthError::new(
                OAuthCode::AuthorizationPending,
                "waiting for the person to approve",
            )
        }),
        DeviceStatus::Approved => {
            let mut tx = state.db.begin().await?;
            let session_id = db::device::consume(&mut *tx, row.id)
                .await?
                .ok_or_else(|| {
                    OAuthError::new(OAuthCode::InvalidGrant, "device code already used")
                })?;
            let with_refresh = client.allows(Grant::RefreshToken);
            let (tokens, session) =
                super::pair::issue(state, &mut tx, session_id, with_refresh, now).await?;
            let p = &session.principal;
            let event = AuditEvent::new("device_redeem", Outcome::Success, meta, now)
                .principal(Some(p.id), &p.display, p.kind)
                .detail("client_id", &client.id)
                .detail("session_id", session_id);
            db::audit::append(&mut tx, &[event]).await?;
            tx.commit().await?;
            Ok(tokens)
        }
        DeviceStatus::Denied => Err(OAuthError::new(
            OAuthCode::AccessDenied,
            "the login was refused",
        )),
        DeviceStatus::Consumed => Err(OAuthError::new(
            OAuthCode::InvalidGrant,
            "device code already used",
        )),
    }
}

/// The pending device login `user_code` names, for its confirm page (who asked, from where,
/// when); a code that names none is a `BadRequest`.
pub async fn review(
    state: &AppState,
    user_code: &str,
    now: OffsetDateTime,
) -> Result<PendingDevice, ApiError> {
    db::device::find_pending_by_user_code(&state.db, &secrets::digest(&normalize(user_code)), now)
        .await?
        .ok_or_else(|| ApiError::BadRequest(NO_SUCH_CODE.into()))
}

/// The person approved `user_code` on the device page in the browser whose binding token is
/// `browser`: where to send them to log in for it.
pub async fn confirm(
    state: &AppState,
    user_code: &str,
    browser: &str,
    now: OffsetDateTime,
) -> Result<Url, ApiError> {
    let device = review(state, user_code, now).await?;
    let to = LoginDestination {
        flow: LoginFlow::Device,
        client_id: &device.client_id,
        client_redirect_uri: None,
        client_state: None,
        code_challenge: None,
        device_id: Some(device.id),
    };
    super::upstream::start(state, to, browser).await
}

/// The person refused `user_code` on the device page: the authorization ends (its poll gets
/// `access_denied`), with a `device_deny` event in the same transaction.
pub async fn deny(
    state: &AppState,
    meta: &RequestMeta,
    user_code: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let device = review(state, user_code, now).await?;
    let mut tx = state.db.begin().await?;
    if !db::device::deny(&mut *tx, device.id, now).await? {
        return Err(ApiError::BadRequest(NO_SUCH_CODE.into()));
    }
    let event = AuditEvent::new("device_deny", Outcome::Denied, meta, now)
        .reason("the person refused the device login on the confirm page")
        .detail("device_id", device.id)
        .detail("requested_by", &device.client_addr);
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(())
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
