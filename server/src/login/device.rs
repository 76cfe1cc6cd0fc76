//! Device authorization (RFC 8628): a headless CLI gets a device code and polls, while the
//! person confirms the user code on the `/device` page and logs in upstream.

use rand::Rng;
use time::OffsetDateTime;
use url::Url;
use vault_api::{DeviceAuthorizationResponse, TokenResponse};

use crate::{
    db::{
        self,
        device::DeviceStatus,
        logins::{LoginDestination, LoginFlow},
    },
    error::{ApiError, OAuthCode, OAuthError},
    secrets,
    state::AppState,
};

/// How long a device code can wait for approval.
const DEVICE_LIFE: time::Duration = time::Duration::minutes(10);
/// Consonants only: no vowels (no words), no look-alikes such as 0/O or 1/I.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// A new device authorization: the device code (for polling) and the user code (for people).
pub async fn start(
    state: &AppState,
    now: OffsetDateTime,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
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
    Ok(DeviceAuthorizationResponse {
        verification_uri: state.url("/device"),
        verification_uri_complete: state.url(&format!("/device?user_code={user_code}")),
        device_code,
        user_code,
        expires_in: DEVICE_LIFE.whole_seconds() as u64,
        interval,
    })
}

/// One poll of the device: its tokens once approved, else why not yet (or not at all).
pub async fn poll(
    state: &AppState,
    device_code: &str,
    now: OffsetDateTime,
) -> Result<TokenResponse, OAuthError> {
    let mut tx = state.db.begin().await?;
    let row = db::device::poll(&mut *tx, &secrets::digest(device_code), now)
        .await?
        .ok_or_else(|| OAuthError::new(OAuthCode::InvalidGrant, "unknown device code"))?;
    tx.commit().await?;
    if row.expires_at <= now {
        return Err(OAuthError::new(
            OAuthCode::ExpiredToken,
            "the device code expired; run `vault login --device` again",
        ));
    }
    match row.status {
        DeviceStatus::Pending => {
            let interval = time::Duration::seconds(row.interval_seconds.into());
            let too_soon = row.last_polled_at.is_some_and(|last| now - last < interval);
            Err(if too_soon {
                OAuthError::new(OAuthCode::SlowDown, "polling too fast")
            } else {
                OAuthError::new(
                    OAuthCode::AuthorizationPending,
                    "waiting for the person to approve",
                )
            })
        }
        DeviceStatus::Approved => {
            let mut tx = state.db.begin().await?;
            let session_id = db::device::consume(&mut *tx, row.id)
                .await?
                .ok_or_else(|| {
                    OAuthError::new(OAuthCode::InvalidGrant, "device code already used")
                })?;
            let (tokens, _) = super::pair::issue(state, &mut tx, session_id, now).await?;
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

/// The person confirmed `user_code` on the device page: where to send them to log in for it.
pub async fn confirm(
    state: &AppState,
    user_code: &str,
    now: OffsetDateTime,
) -> Result<Url, ApiError> {
    let device_id = db::device::find_pending_by_user_code(
        &state.db,
        &secrets::digest(&normalize(user_code)),
        now,
    )
    .await?
    .ok_or_else(|| {
        ApiError::BadRequest(
            "That code is not valid or has expired; run `vault login --device` again.".into(),
        )
    })?;
    let to = LoginDestination {
        flow: LoginFlow::Device,
        client_redirect_uri: None,
        client_state: None,
        code_challenge: None,
        device_id: Some(device_id),
    };
    super::upstream::start(state, to).await
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
