//! Shared application state handed to every handler.

use std::{ops::Deref, sync::Arc};

use sqlx::PgPool;
use url::Url;

use crate::{
    ci::{jwks::JwksCache, reuse::CredentialReuse},
    config::Config,
    console::federation::Federation,
    keys::OwnedKeys,
    limits::Limits,
    oidc::Upstream,
    revocations::Revocations,
    sessions::SessionCache,
    sts::RoleIssuer,
    tokens::TokenService,
    trail::writer::AuditWriter,
};

/// Cheap to clone: one `Arc` around everything a handler needs.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// Commits audit events (group commit); see [`crate::trail::writer`].
    pub audit: AuditWriter,
    pub config: Config,
    /// Where clients and the IdP reach this server (no trailing slash).
    pub public_url: Url,
    pub db: PgPool,
    pub tokens: TokenService,
    /// Live login sessions seen recently (forgotten on any change); see [`crate::sessions`].
    pub sessions: Arc<SessionCache>,
    pub upstream: Upstream,
    pub sts: Arc<dyn RoleIssuer>,
    /// Keys of the configured CI issuers.
    pub ci_keys: JwksCache,
    /// Sessions CI jobs may share (in memory only).
    pub ci_credentials: Arc<CredentialReuse>,
    /// The IAM keys this server owns, when identities are configured.
    pub owned: Option<OwnedKeys>,
    /// This replica's rate limits and the summary of their refusals; see [`crate::limits`].
    pub limits: Arc<Limits>,
    /// The AWS kill switch: revoked people denied on every served role; see [`crate::revocations`].
    pub revocations: Revocations,
    /// The AWS federation endpoint that turns sessions into console sign-ins; see [`crate::console`].
    pub federation: Federation,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    /// `public_url` joined with an absolute path such as `/oauth/token`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
