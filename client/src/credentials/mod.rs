//! A profile's AWS credentials for `exec`, `export` and `credential-process`: from the cache
//! ([`cache`]) while they are fresh, so that a warm `vault exec` makes no network call at all,
//! else from the server ([`fetch`]). CI jobs get theirs through the job's OIDC token instead,
//! and nothing of theirs is cached (see [`obtain`]).

pub mod cache;
pub mod fetch;

pub use cache::CachedCredentials;

use crate::auth::{ci, TOKENS_KEY};
use crate::config::ServerUrl;
use crate::globals::Globals;
use crate::store::Store;

/// Credentials for `profile`: with a CI job's token when there is one (see [`ci::detect`]), else
/// with the stored login.
pub fn obtain(
    globals: &Globals,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedCredentials> {
    let env = ci::process_env;
    if let Some(source) = ci::detect(&globals.ci, &env)? {
        let server = globals.server_url()?;
        return crate::runtime::single_threaded()?.block_on(fetch::for_ci(
            &server,
            &globals.ci,
            &source,
            profile,
            duration,
        ));
    }
    let (server, store) = globals.open()?;
    obtain_with_login(&server, &store, profile, duration, &env)
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
    if let Err(e) = cache::save(store, duration, &credentials) {
        eprintln!(
            "warning: could not cache the session: {}",
            crate::error::one_line(&e)
        );
    }
    Ok(credentials)
}
