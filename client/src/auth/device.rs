//! The device authorization grant (RFC 8628) for machines without a browser.

use std::time::Duration;

use vault_api::{
    AuthorizationServerMetadata, DeviceAuthorizationResponse, TokenResponse, CLI_CLIENT_ID,
    GRANT_DEVICE_CODE,
};

use crate::error::UserError;
use crate::http::{ApiError, Http};

/// Polling interval when the server names none (RFC 8628 §3.2).
const DEFAULT_INTERVAL: u64 = 5;

/// What to do after one poll of the token endpoint.
#[derive(Debug)]
enum Step {
    /// Approved: the login's tokens.
    Done(TokenResponse),
    /// Not approved yet: wait `interval` seconds and poll again.
    Wait { interval: u64 },
}

/// Runs the device login: prints the code and URL, then polls until approved, denied or expired.
pub async fn login(
    http: &Http,
    meta: &AuthorizationServerMetadata,
) -> anyhow::Result<TokenResponse> {
    let device_endpoint = super::endpoint(&meta.device_authorization_endpoint)?;
    let token_endpoint = super::endpoint(&meta.token_endpoint)?;
    let auth: DeviceAuthorizationResponse = http
        .post_form(&device_endpoint, &[("client_id", CLI_CLIENT_ID)])
        .await?;

    eprintln!("To log in, open this URL on any device and confirm the code:");
    eprintln!("{}", auth.verification_uri_complete);
    eprintln!("Code: {}", auth.user_code);
    eprintln!("Waiting for approval…");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(auth.expires_in);
    let mut interval = if auth.interval == 0 {
        DEFAULT_INTERVAL
    } else {
        auth.interval
    };
    let form = [
        ("grant_type", GRANT_DEVICE_CODE),
        ("device_code", auth.device_code.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(expired());
        }
        let answer = http
            .post_form::<TokenResponse>(&token_endpoint, &form)
            .await;
        match next_step(answer, interval)? {
            Step::Done(tokens) => return Ok(tokens),
            Step::Wait { interval: next } => interval = next,
        }
    }
}

/// Interprets one poll (RFC 8628 §3.5): tokens, wait (slowing down by 5 s when asked), or fail.
fn next_step(answer: Result<TokenResponse, ApiError>, interval: u64) -> anyhow::Result<Step> {
    let err = match answer {
        Ok(tokens) => return Ok(Step::Done(tokens)),
        Err(err) => err,
    };
    match err.oauth_code() {
        Some("authorization_pending") => Ok(Step::Wait { interval }),
        Some("slow_down") => Ok(Step::Wait {
            interval: interval + 5,
        }),
        Some("expired_token") => Err(expired()),
        Some("access_denied") => Err(UserError::new("the login was denied on the approval page")
            .hint("run `vault login --device` again and approve the code")
            .into()),
        _ => Err(err.into()),
    }
}

fn expired() -> anyhow::Error {
    UserError::new("the code expired before it was approved")
        .hint("run `vault login --device` again and approve the new code sooner")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(code: &str) -> Result<TokenResponse, ApiError> {
        Err(ApiError::OAuth {
            status: 400,
            error: code.into(),
            description: None,
        })
    }

    #[test]
    fn pending_keeps_the_interval_and_slow_down_adds_five_seconds() {
        let pending = next_step(oauth("authorization_pending"), 5).unwrap();
        assert!(matches!(pending, Step::Wait { interval: 5 }));
        let slower = next_step(oauth("slow_down"), 5).unwrap();
        assert!(matches!(slower, Step::Wait { interval: 10 }));
    }

    #[test]
    fn expiry_denial_and_other_errors_end_the_login() {
        let expired = next_step(oauth("expired_token"), 5).unwrap_err();
        assert!(expired.to_string().contains("expired"));
        let denied = next_step(oauth("access_denied"), 5).unwrap_err();
        assert!(denied.to_string().contains("denied"));
        assert!(next_step(oauth("invalid_client"), 5).is_err());
    }

    #[test]
    fn tokens_end_the_polling() {
        let tokens = TokenResponse {
            access_token: "a".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: None,
            scope: None,
            issued_token_type: None,
        };
        assert!(matches!(next_step(Ok(tokens), 5).unwrap(), Step::Done(_)));
    }
}
