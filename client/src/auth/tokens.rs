//! The stored login: access and refresh tokens, when the access token expires, and the endpoints
//! they are used with.

use std::fmt;

use serde::{Deserialize, Serialize};
use vault_api::TokenResponse;

/// The store key of the login.
pub const TOKENS_KEY: &str = "tokens";
/// An access token is refreshed when it has less than this left (seconds).
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// A login to one server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    /// The server these tokens belong to.
    pub server_url: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds at which the access token expires.
    pub access_expires_at: i64,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
}

impl Tokens {
    /// The login from a token answer received at `now`.
    pub fn from_response(
        server_url: &str,
        token_endpoint: &str,
        revocation_endpoint: &str,
        resp: TokenResponse,
        now: i64,
    ) -> Self {
        Self {
            server_url: server_url.to_owned(),
            access_token: resp.access_token,
            refresh_token: resp.refresh_token,
            access_expires_at: now.saturating_add_unsigned(resp.expires_in),
            token_endpoint: token_endpoint.to_owned(),
            revocation_endpoint: revocation_endpoint.to_owned(),
        }
    }

    /// The login after a refresh at `now`; the refresh token rotates, or stays if none came back.
    pub fn refreshed(&self, resp: TokenResponse, now: i64) -> Self {
        let refresh_token = resp
            .refresh_token
            .clone()
            .or_else(|| self.refresh_token.clone());
        Self {
            refresh_token,
            ..Self::from_response(
                &self.server_url,
                &self.token_endpoint,
                &self.revocation_endpoint,
                resp,
                now,
            )
        }
    }

    /// Whether the access token can still be used at `now` without refreshing first.
    pub fn access_is_fresh(&self, now: i64) -> bool {
        self.access_expires_at - now > REFRESH_MARGIN_SECS
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("server_url", &self.server_url)
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("access_expires_at", &self.access_expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(refresh: Option<&str>) -> TokenResponse {
        TokenResponse {
            access_token: "eyJ.access".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: refresh.map(Into::into),
            scope: None,
            issued_token_type: None,
        }
    }

    fn login(now: i64) -> Tokens {
        let url = "http://127.0.0.1:1";
        Tokens::from_response(url, "t", "r", response(Some("tvr_1")), now)
    }

    #[test]
    fn an_access_token_is_refreshed_within_a_minute_of_expiry() {
        let tokens = login(1_000);
        assert_eq!(tokens.access_expires_at, 1_900);
        assert!(tokens.access_is_fresh(1_000));
        assert!(tokens.access_is_fresh(1_839));
        assert!(!tokens.access_is_fresh(1_840));
    }

    #[test]
    fn a_refresh_keeps_the_old_refresh_token_only_when_no_new_one_is_sent() {
        let tokens = login(0);
        let rotated = tokens.refreshed(response(Some("tvr_2")), 100);
        assert_eq!(rotated.refresh_token.as_deref(), Some("tvr_2"));
        assert_eq!(rotated.access_expires_at, 1_000);
        let kept = tokens.refreshed(response(None), 100);
        assert_eq!(kept.refresh_token.as_deref(), Some("tvr_1"));
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let shown = format!("{:?}", login(0));
        assert!(!shown.contains("eyJ") && !shown.contains("tvr_"), "{shown}");
    }
}
