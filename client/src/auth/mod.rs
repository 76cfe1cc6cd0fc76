//! Where bearer tokens come from: the stored login, refreshed when about to expire or refused; or,
//! in a CI job, the job's OIDC token exchanged for a broker access token held in memory ([`ci`]).

pub mod browser;
pub mod ci;
pub mod device;
mod loopback;
pub mod pkce;
mod tokens;

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;
use vault_api::{AuthorizationServerMetadata, TokenResponse, CLI_CLIENT_ID};

pub use tokens::{Tokens, TOKENS_KEY};

use crate::config::ServerUrl;
use crate::error::UserError;
use crate::http::{with_query, ApiError, Http};
use crate::store::{self, Store};

/// The error for a server we hold no login for.
pub fn not_logged_in(server: &ServerUrl) -> anyhow::Error {
    UserError::new(format!("not logged in to {server}; run `vault login`"))
        .hint("on a machine without a browser, run `vault login --device`")
        .into()
}

/// Fetches the server's OAuth metadata and checks it names the server we asked (RFC 8414 §3.3).
pub async fn discover(http: &Http) -> anyhow::Result<AuthorizationServerMetadata> {
    let meta: AuthorizationServerMetadata = http
        .get(".well-known/oauth-authorization-server", None)
        .await
        .context("reading the server's OAuth metadata")?;
    let issuer = meta.issuer.trim_end_matches('/');
    if issuer != http.server().as_str() {
        return Err(UserError::new(format!(
            "the server at {} says its address is {issuer}",
            http.server()
        ))
        .hint(format!(
            "use the server's public URL: export VAULT_SERVER_URL={issuer}"
        ))
        .into());
    }
    check_endpoints(http.server(), &meta)?;
    Ok(meta)
}

/// Refuses metadata whose endpoints lead away from the server: codes, tokens and refresh tokens
/// are sent to them, so each must be http(s) on the server's own origin (scheme, host and port).
fn check_endpoints(server: &ServerUrl, meta: &AuthorizationServerMetadata) -> anyhow::Result<()> {
    let origin = server.url().origin();
    for (name, value) in [
        ("authorization_endpoint", &meta.authorization_endpoint),
        ("token_endpoint", &meta.token_endpoint),
        (
            "device_authorization_endpoint",
            &meta.device_authorization_endpoint,
        ),
        ("revocation_endpoint", &meta.revocation_endpoint),
    ] {
        let ok = Url::parse(value)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.origin() == origin);
        if !ok {
            // The server's text, shown in a terminal: cut, and no control characters.
            let shown: String = value
                .chars()
                .take(120)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            return Err(UserError::new(format!(
                "refusing to log in: the server's metadata sends its {name} to `{shown}`, not to {}",
                origin.ascii_serialization()
            ))
            .hint(format!(
                "{server} may not be the team-vault server, or its public_url is misconfigured; ask your team-vault admin"
            ))
            .into());
        }
    }
    Ok(())
}

/// An absolute endpoint URL from the metadata.
pub fn endpoint(url: &str) -> anyhow::Result<Url> {
    Url::parse(url).with_context(|| format!("the server advertised an invalid endpoint `{url}`"))
}

/// Stores a new login, first dropping credentials cached under the previous one.
pub async fn save_login(store: &Store, tokens: Tokens) -> anyhow::Result<()> {
    store
        .blocking(move |s| {
            crate::credentials::cache::forget_all(s)?;
            s.put_json(TOKENS_KEY, &tokens)?;
            s.remember_backend()
        })
        .await
        .context("saving the login")
}

/// Removes the login and all cached credentials.
pub async fn forget_login(store: &Store) -> anyhow::Result<()> {
    store
        .blocking(|s| {
            crate::credentials::cache::forget_all(s)?;
            s.delete(TOKENS_KEY)
        })
        .await
        .context("removing the local login")
}

/// Revokes a login on the server (RFC 7009); a login without a refresh token has nothing to revoke.
pub async fn revoke(http: &Http, tokens: &Tokens) -> anyhow::Result<()> {
    let Some(refresh) = &tokens.refresh_token else {
        return Ok(());
    };
    let form = [
        ("token", refresh.as_str()),
        ("token_type_hint", "refresh_token"),
        ("client_id", CLI_CLIENT_ID),
    ];
    let url = endpoint(&tokens.revocation_endpoint)?;
    Ok(http.post_form_empty(&url, &form).await?)
}

/// The stored login, if any.
pub async fn load(store: &Store) -> anyhow::Result<Option<Tokens>> {
    store.blocking(|s| s.get_json::<Tokens>(TOKENS_KEY)).await
}

/// Hands out bearer tokens for one server.
pub struct Authenticator<'a> {
    http: &'a Http,
    source: Source<'a>,
}

/// Where an [`Authenticator`]'s tokens come from.
enum Source<'a> {
    /// The stored login, refreshed as needed.
    Login(&'a Store),
    /// A CI job's broker access token, just exchanged: used as is, never stored, never refreshed.
    Ci(ci::Secret),
}

impl<'a> Authenticator<'a> {
    /// Tokens from the stored login.
    pub fn new(http: &'a Http, store: &'a Store) -> Self {
        Self {
            http,
            source: Source::Login(store),
        }
    }

    /// A CI job's access token from [`ci::access_token`].
    pub fn ci(http: &'a Http, access_token: ci::Secret) -> Self {
        Self {
            http,
            source: Source::Ci(access_token),
        }
    }

    /// Whether this is a CI job's token.
    pub fn is_ci(&self) -> bool {
        matches!(self.source, Source::Ci(_))
    }

    /// A usable access token, refreshed first when it expires within a minute.
    pub async fn bearer(&self) -> anyhow::Result<String> {
        let store = match &self.source {
            Source::Ci(token) => return Ok(token.expose().to_owned()),
            Source::Login(store) => *store,
        };
        let tokens = load(store)
            .await?
            .ok_or_else(|| not_logged_in(self.http.server()))?;
        if tokens.access_is_fresh(crate::clock::now_unix()) {
            return Ok(tokens.access_token);
        }
        self.refresh(store, &tokens.access_token).await
    }

    /// `GET {server}/{path}`, with a bearer token as [`call`](Self::call) hands them out.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(|token| async move { self.http.get(path, Some(&token)).await })
            .await
    }

    /// `POST {server}/{path}` with a JSON body.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.call(|token| async move { self.http.post_json(path, &token, body).await })
            .await
    }

    /// `GET {server}/{path}?{query}`; `timeout` replaces the usual 30 s for slow answers (long
    /// polls, verifying a long chain).
    pub async fn get_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        timeout: Option<Duration>,
    ) -> anyhow::Result<T> {
        let url = with_query(self.http.server().join(path), query);
        self.call(|token| {
            let url = url.clone();
            async move { self.http.get_url(url, &token, timeout).await }
        })
        .await
    }

    /// `GET {server}/{path}?{query}` whose successful answer the caller reads itself, e.g. chunk
    /// by chunk; `timeout` bounds the whole exchange, body included.
    pub async fn open(
        &self,
        path: &str,
        query: &[(&str, String)],
        timeout: Duration,
    ) -> anyhow::Result<reqwest::Response> {
        let url = with_query(self.http.server().join(path), query);
        self.call(|token| {
            let url = url.clone();
            async move { self.http.open(url, &token, timeout).await }
        })
        .await
    }

    /// Runs `call` with a bearer token; on a 401 refreshes once and tries again (a CI token, just
    /// issued, is not retried: a 401 for it is the answer). The one place a refused token is
    /// handled: the helpers above and two requests under one token (credentials and profiles)
    /// come through here.
    pub async fn call<T, F, Fut>(&self, call: F) -> anyhow::Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let token = self.bearer().await?;
        let store = match &self.source {
            Source::Ci(_) => {
                return match call(token).await {
                    Err(ApiError::Unauthorized { message }) => Err(UserError::new(format!(
                        "the team-vault server refused the access token it just issued to this CI job: {message}"
                    ))
                    .hint("retry the job; if it persists, ask your team-vault admin")
                    .into()),
                    other => Ok(other?),
                }
            }
            Source::Login(store) => *store,
        };
        match call(token.clone()).await {
            Err(ApiError::Unauthorized { .. }) => {}
            other => return Ok(other?),
        }
        let token = self.refresh(store, &token).await?;
        match call(token).await {
            Err(ApiError::Unauthorized { message }) => Err(UserError::new(format!(
                "the server no longer accepts your login ({message}); run `vault login`"
            ))
            .into()),
            other => Ok(other?),
        }
    }

    /// Exchanges the refresh token for new tokens, unless another `vault` process already did
    /// while we waited for the lock (presenting a used refresh token would end the login).
    async fn refresh(&self, store: &Store, stale_access: &str) -> anyhow::Result<String> {
        let lock = store.blocking(|s| lock_refresh(s.dir())).await?;
        let server = self.http.server();
        let tokens = load(store).await?.ok_or_else(|| not_logged_in(server))?;
        let now = crate::clock::now_unix();
        if tokens.access_token != stale_access && tokens.access_is_fresh(now) {
            return Ok(tokens.access_token);
        }
        let Some(refresh_token) = tokens.refresh_token.as_deref() else {
            return Err(revoked());
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLI_CLIENT_ID),
        ];
        let answer = self
            .http
            .post_form::<TokenResponse>(&endpoint(&tokens.token_endpoint)?, &form)
            .await;
        let resp = match answer {
            Ok(resp) => resp,
            Err(e) if e.oauth_code() == Some("invalid_grant") => {
                forget_login(store).await?;
                return Err(revoked());
            }
            Err(e) => return Err(e).context("refreshing your login"),
        };
        let renewed = tokens.refreshed(resp, now);
        let access = renewed.access_token.clone();
        store
            .blocking(move |s| s.put_json(TOKENS_KEY, &renewed))
            .await
            .context("saving the refreshed login")?;
        drop(lock);
        Ok(access)
    }
}

fn revoked() -> anyhow::Error {
    UserError::new("your session was revoked or expired; run `vault login`")
        .hint("a logout elsewhere or an administrator can end a login; logging in again starts a new one")
        .into()
}

/// Takes this server's refresh lock (released when the file is dropped).
fn lock_refresh(dir: &Path) -> anyhow::Result<File> {
    store::create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("refresh.lock");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests;
