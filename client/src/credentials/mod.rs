//! A profile's AWS credentials for `exec`, `export` and `credential-process`: from the cache
//! ([`cache`]) while they are fresh, so that a warm `vault exec` makes no network call at all,
//! else from the server ([`fetch`]). CI jobs get theirs through the job's OIDC token instead,
//! and nothing of theirs is cached (see [`obtain`]).

mod args;
pub mod cache;
pub mod fetch;

pub use cache::CachedCredentials;

use crate::auth::ci::{self, CiFlags, CiSource};
use crate::auth::TOKENS_KEY;
use crate::config::ServerUrl;
use crate::globals::Globals;
use crate::store::Store;
pub use args::ProfileArgs;

/// Credentials for `profile`: with a CI job's token when there is one (see [`ci::detect`]), else
/// with the stored login.
pub fn obtain(globals: &Globals, args: &ProfileArgs) -> anyhow::Result<CachedCredentials> {
    Source::detect(globals, &args.ci)?.obtain(&args.profile, args.duration)
}

/// What asks the server for credentials: a CI job's token, or the stored login (and its cache).
#[derive(Clone)]
pub enum Source {
    Ci {
        server: ServerUrl,
        flags: CiFlags,
        source: CiSource,
    },
    Login {
        server: ServerUrl,
        store: Store,
    },
}

impl Source {
    /// A CI job's token when there is one, else the stored login (opening the store: call this
    /// outside any async runtime, see `cli::on_runtime`).
    pub fn detect(globals: &Globals, flags: &CiFlags) -> anyhow::Result<Self> {
        if let Some(source) = ci::detect(flags, &ci::process_env)? {
            return Ok(Self::Ci {
                server: globals.server_url()?,
                flags: flags.clone(),
                source,
            });
        }
        let (server, store) = globals.open()?;
        Ok(Self::Login { server, store })
    }

    /// Credentials as `vault exec` gets them: from the cache when fresh (not in CI), else from
    /// the server. Starts its own runtime when it must ask: call it outside one.
    pub fn obtain(
        &self,
        profile: &str,
        duration: Option<u32>,
    ) -> anyhow::Result<CachedCredentials> {
        match self {
            Self::Ci { .. } => {
                crate::runtime::single_threaded()?.block_on(self.fetch_fresh(profile, duration))
            }
            Self::Login { server, store } => {
                obtain_with_login(server, store, profile, duration, &ci::process_env)
            }
        }
    }

    /// New credentials from the server, never from the cache (a credential endpoint's refresh);
    /// with the stored login they replace the cached ones.
    pub async fn fetch_fresh(
        &self,
        profile: &str,
        duration: Option<u32>,
    ) -> anyhow::Result<CachedCredentials> {
        match self {
            Self::Ci {
                server,
                flags,
                source,
            } => fetch::for_ci(server, flags, source, profile, duration).await,
            Self::Login { server, store } => {
                let credentials = fetch::with_login(server, store, profile, duration).await?;
                save_or_warn(store, duration, &credentials);
                Ok(credentials)
            }
        }
    }
}

/// Credentials with the stored login: from the cache when fresh, else from the server (then
/// cached).
///
/// The cache is read before any HTTP client or async runtime exists, so the warm path is a
/// single read of the store. In CI (`CI` set in `env`) without a login this fails at once,
/// naming the CI token sources it looked for.
pub fn obtain_with_login(
    server: &ServerUrl,
    store: &Store,
    profile: &str,
    duration: Option<u32>,
    env: ci::Env<'_>,
) -> anyhow::Result<CachedCredentials> {
    let now = crate::clock::now_unix();
    if let Some(credentials) = cache::load_fresh(store, profile, duration, now)? {
        return Ok(credentials);
    }
    if ci::in_ci(env) && store.get(TOKENS_KEY)?.is_none() {
        return Err(ci::no_token_error(env));
    }
    let credentials = crate::runtime::single_threaded()?
        .block_on(fetch::with_login(server, store, profile, duration))?;
    save_or_warn(store, duration, &credentials);
    Ok(credentials)
}

/// Caches the credentials; a failure only costs the next run a request, so it is a warning.
fn save_or_warn(store: &Store, duration: Option<u32>, credentials: &CachedCredentials) {
    if let Err(e) = cache::save(store, duration, credentials) {
        eprintln!(
            "warning: could not cache the session: {}",
            crate::error::one_line(&e)
        );
    }
}
