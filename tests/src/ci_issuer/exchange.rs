//! Using the issuer against a test server: the CI profile, RFC 8693 exchanges, and a person's ID token for comparison.

use super::*;

/// `deploy`: no human may assume it; CI jobs of acme/app on main, pushed, may; bursts of one
/// job identity share a session.
pub fn deploy_profile() -> ProfileSpec {
    ProfileSpec::new("deploy", "ci-deploy", &[]).toml(&format!(
        "reuse_ci_sessions = true\n\n[[profiles.allow_ci]]\nissuer = \"{ISSUER_NAME}\"\n\
         claims = {{ repository = \"{REPOSITORY}\", ref = \"{REF}\", event_name = \"push\" }}\n"
    ))
}

/// The outcome of a token exchange, read whole.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Exchange {
    /// `error_description`, or "".
    pub fn description(&self) -> &str {
        self.body["error_description"].as_str().unwrap_or_default()
    }

    /// The access token, which must be there.
    pub fn access_token(&self) -> String {
        assert_eq!(self.status, 200, "the exchange was refused: {}", self.text);
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {}", self.text))
            .to_owned()
    }
}

impl TestApp {
    /// RFC 8693 token exchange of a CI job token, answered raw.
    pub async fn ci_exchange_raw(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.endpoint("/oauth/token"))
            .form(form)
            .send()
            .await
            .expect("POST /oauth/token")
    }

    /// RFC 8693 token exchange of `subject_token` (a CI JWT).
    pub async fn ci_exchange(&self, subject_token: &str) -> Exchange {
        let resp = self
            .ci_exchange_raw(&[
                ("grant_type", GRANT_TOKEN_EXCHANGE),
                ("subject_token", subject_token),
                ("subject_token_type", TOKEN_TYPE_JWT),
            ])
            .await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Exchange { status, body, text }
    }
}

/// A person's ID token from the dev IdP: the authorization-code flow with PKCE as the
/// `team-vault` client (autologin.js fills in the login form), then the IdP's token endpoint.
pub async fn idp_id_token(user: &str) -> String {
    use crate::oauth::{pkce_challenge, random_b64};
    let env = crate::env::TestEnv::get();
    let http = crate::app::http_client();
    let discovery: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            env.idp_issuer
        ))
        .send()
        .await
        .expect("IdP discovery")
        .json()
        .await
        .expect("IdP discovery JSON");
    let redirect_uri = "http://127.0.0.1:9/oauth/callback";
    let verifier = random_b64(32);
    let state = random_b64(16);
    let mut auth = url::Url::parse(
        discovery["authorization_endpoint"]
            .as_str()
            .expect("authorization_endpoint"),
    )
    .expect("authorization endpoint URL");
    auth.query_pairs_mut()
        .append_pair("client_id", "team-vault")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile groups")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state)
        .append_pair("nonce", &random_b64(16));
    let out = crate::login::autologin(user, auth.as_str(), &["--print-loopback"])
        .await
        .unwrap_or_else(|e| panic!("IdP login as {user}: {e:#}"));
    let loopback = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("LOOPBACK="))
        .unwrap_or_else(|| panic!("autologin.js printed no LOOPBACK= line:\n{out}"));
    let loopback = url::Url::parse(loopback).expect("LOOPBACK is a URL");
    let code = loopback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {loopback}"));
    let resp = http
        .post(
            discovery["token_endpoint"]
                .as_str()
                .expect("token_endpoint"),
        )
        .basic_auth("team-vault", Some("dev-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("IdP token request");
    let status = resp.status();
    let body: Value = resp.json().await.expect("IdP token response JSON");
    assert!(status.is_success(), "IdP token endpoint: {status} {body}");
    body["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token in {body}"))
        .to_owned()
}

/// A local CI issuer and a server trusting it (with the `deploy` profile).
pub async fn spawn_ci_app() -> (CiIssuer, TestApp) {
    let issuer = CiIssuer::start().await;
    let app = issuer.app_builder().spawn().await;
    (issuer, app)
}

impl TestApp {
    /// How many login sessions CI jobs hold (each granted exchange makes one).
    pub async fn ci_session_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM login_sessions WHERE ci_issuer IS NOT NULL")
            .fetch_one(&self.db)
            .await
            .expect("counting CI sessions")
    }
}
