//! The signing keys of each CI issuer, fetched by hand from its discovery document (CI issuers
//! publish no authorization endpoint, which the `openidconnect` discovery type requires).
//! Cached; an unknown `kid` triggers at most one refetch per minute per issuer.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::CiIssuer;

/// Keys are refreshed at least this often.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// At most one fetch per issuer per this period (unknown `kid` floods must not hammer it).
const REFETCH_LIMIT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct IssuerKeys {
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

/// The issuer's keys could not be fetched: answer 503 and issue nothing.
#[derive(Debug, thiserror::Error)]
#[error("cannot fetch the signing keys of CI issuer `{issuer}`: {cause}")]
pub struct JwksUnavailable {
    pub issuer: String,
    pub cause: String,
}

/// Per-issuer key caches.
pub struct JwksCache {
    http: reqwest::Client,
    keys: HashMap<String, Mutex<IssuerKeys>>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl JwksCache {
    pub fn new(issuers: &[CiIssuer]) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a TLS backend is compiled in");
        JwksCache {
            http,
            keys: issuers
                .iter()
                .map(|i| (i.name.clone(), Mutex::default()))
                .collect(),
        }
    }

    /// The key `kid` of `issuer`; `Ok(None)` when the issuer does not publish it.
    pub async fn key(&self, issuer: &CiIssuer, kid: &str) -> Result<Option<Jwk>, JwksUnavailable> {
        let Some(slot) = self.keys.get(&issuer.name) else {
            return Ok(None);
        };
        let mut keys = slot.lock().await;
        let fresh = keys.fetched_at.is_some_and(|t| t.elapsed() < KEYS_TTL);
        let known = keys.set.as_ref().and_then(|s| s.find(kid)).cloned();
        if fresh && known.is_some() {
            return Ok(known);
        }
        if keys
            .attempted_at
            .is_none_or(|t| t.elapsed() >= REFETCH_LIMIT)
        {
            keys.attempted_at = Some(Instant::now());
            match self.fetch(issuer).await {
                Ok(set) => {
                    keys.set = Some(set);
                    keys.fetched_at = Some(Instant::now());
                }
                // Stale keys still verify while the issuer is briefly unreachable; no keys at
                // all means nothing can be verified: fail closed.
                Err(cause) => {
                    tracing::warn!(issuer = %issuer.name, error = %cause, "CI issuer keys unavailable");
                    if keys.set.is_none() {
                        return Err(JwksUnavailable {
                            issuer: issuer.name.clone(),
                            cause,
                        });
                    }
                }
            }
        } else if keys.set.is_none() {
            return Err(JwksUnavailable {
                issuer: issuer.name.clone(),
                cause: "the last attempt failed moments ago; retrying at most once a minute".into(),
            });
        }
        Ok(keys.set.as_ref().and_then(|s| s.find(kid)).cloned())
    }

    async fn fetch(&self, issuer: &CiIssuer) -> Result<JwkSet, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.get_json(&url).await?;
        if discovery.issuer != issuer.issuer {
            return Err(format!(
                "its discovery document names issuer `{}`, not `{}`",
                discovery.issuer, issuer.issuer
            ));
        }
        self.get_json(&discovery.jwks_uri).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        response.json().await.map_err(|e| format!("{url}: {e}"))
    }
}
