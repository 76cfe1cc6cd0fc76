//! The upstream OpenID provider: we are its confidential relying party (code flow, PKCE S256,
//! state and nonce). Discovery is lazy and cached, so the server starts even while the IdP is down.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata},
    AccessToken, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    UserInfoClaims,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::config::OidcConfig;

/// How long a discovery document is trusted before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Bounds on one call to the IdP: reaching it, and the whole exchange.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A person as the IdP vouched for them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// Email if the IdP gave one, else preferred_username, else the subject.
    pub display: String,
    pub groups: Vec<String>,
}

/// What the server keeps while the browser is at the IdP.
pub struct Started {
    pub url: Url,
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

/// Failures talking to the IdP or checking what it said.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the identity provider is unreachable right now; try again in a minute ({0})")]
    Unreachable(String),
    #[error("the identity provider's answer was refused: {0}")]
    Rejected(String),
}

/// Every claim, to read the configured groups claim whatever its name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtherClaims(HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

/// A discovered client: authorization endpoint set, token and userinfo endpoints as discovered.
type UpstreamClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Relying party for the configured IdP.
pub struct Upstream {
    config: OidcConfig,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl Upstream {
    pub fn new(config: OidcConfig, callback: Url) -> Self {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects from the IdP would open the server up to SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            // Every call to the IdP (discovery, JWKS, token, userinfo) is bounded.
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a TLS backend is compiled in");
        Upstream {
            config,
            redirect: RedirectUrl::from_url(callback),
            http,
            metadata: Mutex::new(None),
        }
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, UpstreamError> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, m)) = cached.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(m.clone());
            }
        }
        // `Url` always ends a bare origin with `/`; issuers are compared as exact strings.
        let issuer = IssuerUrl::new(self.config.issuer.as_str().trim_end_matches('/').to_owned())
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let fresh = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| UpstreamError::Unreachable(error_chain(&e)))?;
        *cached = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// A client for the (discovered) IdP with our credentials and callback.
    async fn client(&self) -> Result<UpstreamClient, UpstreamError> {
        let metadata = self.metadata().await?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Builds the IdP authorization URL for a new login.
    pub async fn start(&self) -> Result<Started, UpstreamError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            url,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Redeems the IdP's code, verifies the ID token against the nonce and reads the groups.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Identity, UpstreamError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| UpstreamError::Rejected(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::Request(_) => {
                    UpstreamError::Unreachable(error_chain(&e))
                }
                _ => UpstreamError::Rejected(error_chain(&e)),
            })?;
        let id_token = response
            .extra_fields()
            .id_token()
            .ok_or_else(|| UpstreamError::Rejected("no ID token in the token response".into()))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|e| UpstreamError::Rejected(error_chain(&e)))?;
        let subject = claims.subject().as_str().to_owned();
        let display = claims
            .email()
            .map(|e| e.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()))
            .unwrap_or_else(|| subject.clone());
        // The signature and claims were verified above; reading the payload again only picks
        // out the configured groups claim, which the typed claims cannot name.
        let mut groups = groups_in_jwt(&id_token.to_string(), &self.config.groups_claim);
        if groups.is_none() {
            groups = self
                .groups_from_userinfo(&client, response.access_token())
                .await;
        }
        Ok(Identity {
            issuer: self.config.issuer.as_str().trim_end_matches('/').to_owned(),
            subject,
            display,
            groups: groups.unwrap_or_default(),
        })
    }

    async fn groups_from_userinfo(
        &self,
        client: &UpstreamClient,
        token: &AccessToken,
    ) -> Option<Vec<String>> {
        let request = client.user_info(token.clone(), None).ok()?;
        let info: UserInfoClaims<OtherClaims, CoreGenderClaim> =
            match request.request_async(&self.http).await {
                Ok(info) => info,
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "userinfo request failed; no groups");
                    return None;
                }
            };
        info.additional_claims()
            .0
            .get(&self.config.groups_claim)
            .map(string_list)
    }
}

/// The groups claim of a (verified) JWT's payload, if present.
fn groups_in_jwt(jwt: &str, claim: &str) -> Option<Vec<String>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(claim).map(string_list)
}

/// A claim holding a list of strings or a single string.
fn string_list(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_from_a_jwt_payload_by_claim_name() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"a","team_groups":["dev","ops"]}"#);
        let jwt = format!("h.{payload}.s");
        assert_eq!(
            groups_in_jwt(&jwt, "team_groups"),
            Some(vec!["dev".into(), "ops".into()])
        );
        assert_eq!(groups_in_jwt(&jwt, "groups"), None);
    }

    #[test]
    fn a_single_string_group_claim_becomes_one_group() {
        assert_eq!(
            string_list(&serde_json::json!("dev")),
            vec!["dev".to_owned()]
        );
    }
}
