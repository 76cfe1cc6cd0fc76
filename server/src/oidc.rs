//! The upstream OpenID provider: we are its confidential relying party (code flow, PKCE S256,
//! state and nonce). Discovery is lazy and cached, so the server starts even while the IdP is down;
//! an ID token signed with a key the cached document does not list makes the document (and its
//! keys) be fetched again, at most once per [`KEY_REFETCH_INTERVAL`].
//!
//! What the IdP hands back besides the identity (its refresh and access tokens) is kept sealed
//! with the master key, so a login's groups can be read again later ([`Upstream::reread`]).

mod claims;
mod error;
mod reread;
mod userinfo;

use error::error_chain;
pub use error::UpstreamError;

use std::time::{Duration, Instant};

use openidconnect::{
    core::{
        CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken,
        CoreProviderMetadata, CoreTokenResponse,
    },
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, SignatureVerificationError,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::Mutex;
use url::Url;

use crate::{config::OidcConfig, keys::seal::MasterKey};

/// How long a discovery document is trusted before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Bounds on one call to the IdP: reaching it, and the whole exchange.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// An unknown signing key refetches the IdP's keys at most this often.
pub const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// A person as the IdP vouched for them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// A verified email, or the configured `display_claim`; the subject when there is no email.
    pub display: String,
    pub groups: Vec<String>,
    /// The IdP's tokens, sealed, for reading the groups again.
    pub tokens: SealedTokens,
}

/// The IdP's refresh and access tokens as stored: sealed with the master key (bound to the login
/// session), `None` where the IdP gave none or no master key is configured.
#[derive(Debug, Clone, Default)]
pub struct SealedTokens {
    pub refresh: Option<String>,
    pub access: Option<String>,
    pub access_expires_at: Option<OffsetDateTime>,
}

/// Groups read again, with the tokens to use next time.
#[derive(Debug)]
pub struct Reread {
    pub groups: Vec<String>,
    pub tokens: SealedTokens,
}

/// What the server keeps while the browser is at the IdP.
pub struct Started {
    pub url: Url,
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

/// A discovered client: authorization endpoint set, token and userinfo endpoints as discovered.
type UpstreamClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The cached discovery document, and when the keys were last refetched for an unknown `kid`.
#[derive(Default)]
struct Discovered {
    metadata: Option<(Instant, CoreProviderMetadata)>,
    last_key_refetch: Option<Instant>,
}

/// Relying party for the configured IdP.
pub struct Upstream {
    config: OidcConfig,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    discovered: Mutex<Discovered>,
    /// Seals the IdP's tokens at rest; without it none are kept (see README, "Membership").
    seal: Option<MasterKey>,
}

impl Upstream {
    pub fn new(config: OidcConfig, callback: Url, seal: Option<MasterKey>) -> Self {
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
            discovered: Mutex::new(Discovered::default()),
            seal,
        }
    }

    /// The issuer as it appears in ID tokens (no trailing slash).
    fn issuer(&self) -> String {
        self.config.issuer.as_str().trim_end_matches('/').to_owned()
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, UpstreamError> {
        let mut cached = self.discovered.lock().await;
        if let Some((at, m)) = cached.metadata.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(m.clone());
            }
        }
        self.discover(&mut cached).await
    }

    async fn discover(
        &self,
        cached: &mut Discovered,
    ) -> Result<CoreProviderMetadata, UpstreamError> {
        // `Url` always ends a bare origin with `/`; issuers are compared as exact strings.
        let issuer =
            IssuerUrl::new(self.issuer()).map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let fresh = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| UpstreamError::Unreachable(error_chain(&e)))?;
        cached.metadata = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Fetches the document and keys again after an unknown `kid`, unless that was done less
    /// than [`KEY_REFETCH_INTERVAL`] ago; `true` when fetched.
    async fn refetch_keys(&self) -> bool {
        let mut cached = self.discovered.lock().await;
        if cached
            .last_key_refetch
            .is_some_and(|at| at.elapsed() < KEY_REFETCH_INTERVAL)
        {
            return false;
        }
        cached.last_key_refetch = Some(Instant::now());
        match self.discover(&mut cached).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot refetch the identity provider's keys");
                false
            }
        }
    }

    /// A client for the (discovered) IdP with our credentials and callback.
    async fn client(&self) -> Result<UpstreamClient, UpstreamError> {
        Ok(self.client_for(self.metadata().await?))
    }

    fn client_for(&self, metadata: CoreProviderMetadata) -> UpstreamClient {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Builds the IdP authorization URL for a new login (asking for `offline_access` too when
    /// the IdP offers it and a master key can keep the refresh token).
    pub async fn start(&self) -> Result<Started, UpstreamError> {
        let metadata = self.metadata().await?;
        let offline = self.seal.is_some()
            && metadata
                .scopes_supported()
                .is_some_and(|s| s.iter().any(|s| s.as_str() == "offline_access"));
        let client = self.client_for(metadata);
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
        if offline {
            if !self.config.scopes.iter().any(|s| s == "offline_access") {
                request = request.add_scope(Scope::new("offline_access".into()));
            }
            // OIDC Core 11: a request for offline access carries prompt=consent.
            request = request.add_prompt(CoreAuthPrompt::Consent);
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            url,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Redeems the IdP's code, verifies the ID token against the nonce, reads who the person
    /// is and their groups. `session_id` is the login session the tokens are sealed for.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
        session_id: uuid::Uuid,
    ) -> Result<Identity, UpstreamError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| UpstreamError::Rejected(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = response
            .extra_fields()
            .id_token()
            .ok_or_else(|| UpstreamError::Rejected("no ID token in the token response".into()))?;
        let expected = Nonce::new(nonce.to_owned());
        let subject = self
            .verified_subject(client, id_token, |n: Option<&Nonce>| {
                n.is_some_and(|n| crate::secrets::same(n.secret(), expected.secret()))
                    .then_some(())
                    .ok_or_else(|| "the nonce does not match".to_owned())
            })
            .await?;
        let claims = self.claims_of(id_token, &response, &subject).await?;
        let display = claims::display(
            &claims,
            &subject,
            self.config.login.display_claim.as_deref(),
        )?;
        Ok(Identity {
            issuer: self.issuer(),
            subject,
            display,
            groups: claims::groups(&claims, &self.config.groups_claim),
            tokens: self.seal_tokens(&response, session_id, None),
        })
    }

    /// Verifies the ID token (refetching the IdP's keys once on an unknown key) and returns
    /// its subject.
    async fn verified_subject(
        &self,
        client: UpstreamClient,
        id_token: &CoreIdToken,
        nonce: impl Fn(Option<&Nonce>) -> Result<(), String>,
    ) -> Result<String, UpstreamError> {
        let verifier = client.id_token_verifier();
        let first = id_token
            .claims(&verifier, &nonce)
            .map(|c| c.subject().to_string());
        match first {
            Ok(subject) => Ok(subject),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refetch_keys().await => {
                let client = self.client().await?;
                let verifier = client.id_token_verifier();
                id_token
                    .claims(&verifier, &nonce)
                    .map(|c| c.subject().to_string())
                    .map_err(|e| UpstreamError::Rejected(error_chain(&e)))
            }
            Err(e) => Err(UpstreamError::Rejected(error_chain(&e))),
        }
    }

    /// The ID token's claims, completed from userinfo when the groups or the naming claim are
    /// missing there (userinfo's `sub` must match).
    async fn claims_of(
        &self,
        id_token: &CoreIdToken,
        response: &CoreTokenResponse,
        subject: &str,
    ) -> Result<Map<String, Value>, UpstreamError> {
        // The signature and claims were verified; the payload is read again for claims the
        // typed claims cannot name (the configured groups and display claims).
        let mut claims = claims::payload(&id_token.to_string());
        let display_claim = self.config.login.display_claim.as_deref();
        if claims::incomplete(&claims, &self.config.groups_claim, display_claim) {
            if let Ok(endpoint) = self.userinfo_endpoint().await {
                let info = userinfo::fetch(
                    &self.http,
                    &endpoint,
                    response.access_token().secret(),
                    subject,
                )
                .await;
                match info {
                    Ok(info) => claims::merge(&mut claims, info),
                    Err(e @ UpstreamError::Refused { .. }) => return Err(e),
                    Err(e) => tracing::warn!(error = %e, "userinfo request failed"),
                }
            }
        }
        Ok(claims)
    }

    async fn userinfo_endpoint(&self) -> Result<String, UpstreamError> {
        self.metadata()
            .await?
            .userinfo_endpoint()
            .map(|u| u.url().to_string())
            .ok_or_else(|| {
                UpstreamError::NoTokens("the identity provider has no userinfo endpoint".into())
            })
    }

    /// The response's tokens sealed for `session_id` (`previous` refresh token kept when the IdP
    /// did not rotate it).
    fn seal_tokens(
        &self,
        response: &CoreTokenResponse,
        session_id: uuid::Uuid,
        previous: Option<&SecretString>,
    ) -> SealedTokens {
        let Some(seal) = &self.seal else {
            return SealedTokens::default();
        };
        let refresh = response
            .refresh_token()
            .map(|t| t.secret().as_str())
            .or_else(|| previous.map(|p| p.expose_secret()));
        SealedTokens {
            refresh: refresh.map(|t| seal.seal(t, &context(session_id, "refresh"))),
            access: Some(seal.seal(
                response.access_token().secret(),
                &context(session_id, "access"),
            )),
            access_expires_at: response.expires_in().and_then(|d| {
                time::Duration::try_from(d)
                    .ok()
                    .map(|d| crate::clock::now() + d)
            }),
        }
    }
}

/// What a sealed token is bound to: its login session and which token it is.
fn context(session_id: uuid::Uuid, what: &str) -> String {
    format!("upstream-{what}:{session_id}")
}

/// A failed token request: `invalid_grant` means the IdP no longer accepts the person or grant.
fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, openidconnect::StandardErrorResponse<CoreErrorResponseType>>,
) -> UpstreamError {
    match &e {
        RequestTokenError::Request(_) => UpstreamError::Unreachable(error_chain(&e)),
        RequestTokenError::ServerResponse(r)
            if *r.error() == CoreErrorResponseType::InvalidGrant =>
        {
            UpstreamError::Gone(format!(
                "the identity provider refused the grant: {}",
                r.error_description()
                    .map_or("invalid_grant", |d| d.as_str())
            ))
        }
        _ => UpstreamError::Rejected(error_chain(&e)),
    }
}
