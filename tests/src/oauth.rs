//! `OAuthClient`: the CLI's OAuth dance done in Rust, for API tests that need raw tokens.

use crate::app::http_client;
use crate::login::autologin;
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use vault_api::{Credentials, TokenResponse, CLI_CLIENT_ID};

/// Loopback redirect URI nobody listens on: autologin.js only prints where it would go.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// An access token and its refresh token.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

impl TryFrom<TokenResponse> for Tokens {
    type Error = anyhow::Error;
    fn try_from(t: TokenResponse) -> Result<Self> {
        if !t.token_type.eq_ignore_ascii_case("bearer") {
            bail!("token_type is {:?}, expected Bearer", t.token_type);
        }
        Ok(Tokens {
            access_token: t.access_token,
            refresh_token: t.refresh_token.ok_or_else(|| anyhow!("no refresh_token"))?,
            expires_in: t.expires_in,
        })
    }
}

/// A one-time authorization code with what its exchange needs.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub code: String,
    pub verifier: String,
    pub redirect_uri: String,
}

/// A public OAuth client (`vault-cli` unless [`OAuthClient::as_client`]) talking to one server.
#[derive(Clone)]
pub struct OAuthClient {
    pub server: String,
    pub http: reqwest::Client,
    pub client_id: String,
}

/// `bytes` random bytes, base64url without padding.
pub fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OAuthClient {
    pub fn new(server: &str) -> Self {
        OAuthClient {
            server: server.trim_end_matches('/').to_owned(),
            http: http_client(),
            client_id: CLI_CLIENT_ID.to_owned(),
        }
    }

    /// The same server, as the public client `client_id` (a `[[clients]]` entry).
    pub fn as_client(mut self, client_id: &str) -> Self {
        self.client_id = client_id.to_owned();
        self
    }

    /// Logs `user` in with the authorization-code flow and PKCE; returns fresh tokens.
    pub async fn login(&self, user: &str) -> Tokens {
        self.try_login(user)
            .await
            .unwrap_or_else(|e| panic!("OAuth login as {user}: {e:#}"))
    }

    async fn try_login(&self, user: &str) -> Result<Tokens> {
        let code = self.authorize(user).await?;
        let resp = self.exchange(&code).await?;
        let status = resp.status();
        let body = resp.text().await?;
        if !status.is_success() {
            bail!("code exchange answered {status}: {body}");
        }
        serde_json::from_str::<TokenResponse>(&body)
            .with_context(|| format!("token response: {body}"))?
            .try_into()
    }

    /// The authorization URL for a PKCE challenge, state and redirect URI.
    pub fn authorize_url(&self, challenge: &str, state: &str, redirect_uri: &str) -> url::Url {
        let mut authorize =
            url::Url::parse(&format!("{}/oauth/authorize", self.server)).expect("server URL");
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state);
        authorize
    }

    /// Logs `user` in through the IdP and returns the one-time code (not yet exchanged).
    pub async fn authorize(&self, user: &str) -> Result<AuthCode> {
        self.authorize_to(user, REDIRECT_URI).await
    }

    /// [`OAuthClient::authorize`] with the code sent to `redirect_uri`.
    pub async fn authorize_to(&self, user: &str, redirect_uri: &str) -> Result<AuthCode> {
        let verifier = random_b64(32);
        let state = random_b64(16);
        let authorize = self.authorize_url(&pkce_challenge(&verifier), &state, redirect_uri);
        let out = autologin(user, authorize.as_str(), &["--print-loopback"]).await?;
        let loopback = out
            .stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("LOOPBACK="))
            .ok_or_else(|| anyhow!("autologin.js printed no LOOPBACK= line:\n{out}"))?;
        let loopback = url::Url::parse(loopback).context("LOOPBACK is not a URL")?;
        if !loopback.as_str().starts_with(redirect_uri) {
            bail!("redirected to {loopback}, not to our redirect_uri {redirect_uri}");
        }
        let param = |name: &str| {
            loopback
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if let Some(error) = param("error") {
            bail!("the server redirected with error={error}: {loopback}");
        }
        if param("state").as_deref() != Some(state.as_str()) {
            bail!("state was not echoed back: {loopback}");
        }
        let code = param("code").ok_or_else(|| anyhow!("no code in {loopback}"))?;
        Ok(AuthCode {
            code,
            verifier,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// The authorization-code grant for `code`, answered raw.
    pub async fn exchange(&self, code: &AuthCode) -> Result<reqwest::Response> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code.code),
            ("redirect_uri", &code.redirect_uri),
            ("client_id", self.client_id.as_str()),
            ("code_verifier", &code.verifier),
        ])
        .await
    }

    /// `POST /oauth/token` with a form.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}/oauth/token", self.server))
            .form(form)
            .send()
            .await?)
    }

    /// The refresh grant, answered raw.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.client_id.as_str()),
        ])
        .await
        .expect("POST /oauth/token")
    }

    /// The refresh grant, which must succeed.
    pub async fn refresh_ok(&self, refresh_token: &str) -> Tokens {
        let resp = self.refresh(refresh_token).await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "refresh answered {status}: {body}");
        serde_json::from_str::<TokenResponse>(&body)
            .unwrap_or_else(|e| panic!("refresh response {body}: {e}"))
            .try_into()
            .expect("refresh response")
    }

    /// `POST /oauth/revoke` (RFC 7009).
    pub async fn revoke(&self, token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth/revoke", self.server))
            .form(&[("token", token), ("client_id", self.client_id.as_str())])
            .send()
            .await
            .expect("POST /oauth/revoke")
    }

    /// `GET path` with a bearer token.
    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.server))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    /// `POST path` with a bearer token and a JSON body.
    pub async fn post_json(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.server))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// `POST /v1/credentials`, which must answer 200 with credentials.
    pub async fn credentials(&self, token: &str, profile: &str) -> Credentials {
        let resp = self
            .post_json(
                token,
                "/v1/credentials",
                &serde_json::json!({ "profile": profile }),
            )
            .await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "POST /v1/credentials {profile}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("credentials body {body}: {e}"))
    }
}
