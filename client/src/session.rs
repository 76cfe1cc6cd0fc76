//! Cached AWS sessions per (server, profile, duration), reused until five minutes before they
//! expire so that a warm `vault exec` makes no network call at all. CI jobs get theirs through
//! the job's OIDC token instead, and nothing of theirs is cached (see [`obtain`]).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vault_api::{Credentials, CredentialsRequest, ProfileList};

use crate::auth::ci::{self, CiFlags, CiSource};
use crate::auth::{Authenticator, TOKENS_KEY};
use crate::config::ServerUrl;
use crate::error::UserError;
use crate::globals::Globals;
use crate::http::Http;
use crate::store::Store;

/// A session is not handed out when it has less than this left (seconds).
pub const REUSE_MARGIN_SECS: i64 = 5 * 60;
/// The store key listing every cached session, so logout can remove them all.
const INDEX_KEY: &str = "sessions";

/// Credentials for one profile plus what `exec` needs besides them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedSession {
    pub profile: String,
    pub credentials: Credentials,
    /// The profile's AWS region, from `GET /v1/profiles`.
    pub region: Option<String>,
    /// `credentials.expiration` as Unix seconds.
    pub expires_at: i64,
}

impl CachedSession {
    /// Wraps credentials from the server, reading their expiration.
    pub fn new(
        profile: &str,
        credentials: Credentials,
        region: Option<String>,
    ) -> anyhow::Result<Self> {
        let expires_at = OffsetDateTime::parse(&credentials.expiration, &Rfc3339)
            .with_context(|| {
                format!(
                    "the server sent an unreadable expiration `{}`",
                    credentials.expiration
                )
            })?
            .unix_timestamp();
        Ok(Self {
            profile: profile.to_owned(),
            credentials,
            region,
            expires_at,
        })
    }

    /// Whether the session may still be handed out at `now` (Unix seconds).
    pub fn is_fresh(&self, now: i64) -> bool {
        self.expires_at - now > REUSE_MARGIN_SECS
    }
}

/// The store key of a (profile, duration) pair; no duration means the profile's default.
pub fn key(profile: &str, duration: Option<u32>) -> String {
    match duration {
        Some(secs) => format!("session-{profile}-{secs}s"),
        None => format!("session-{profile}-default"),
    }
}

/// The cached session when it is still fresh at `now`; an unreadable entry counts as absent.
pub fn load_fresh(
    store: &Store,
    profile: &str,
    duration: Option<u32>,
    now: i64,
) -> anyhow::Result<Option<CachedSession>> {
    let Some(text) = store.get(&key(profile, duration))? else {
        return Ok(None);
    };
    let found = serde_json::from_str::<CachedSession>(&text).ok();
    Ok(found.filter(|s| s.profile == profile && s.is_fresh(now)))
}

/// Caches a session and records its key in the index.
pub fn save(store: &Store, duration: Option<u32>, session: &CachedSession) -> anyhow::Result<()> {
    let key = key(&session.profile, duration);
    store.put_json(&key, session)?;
    let mut index: Vec<String> = store
        .get_json(INDEX_KEY)
        .unwrap_or_default()
        .unwrap_or_default();
    if !index.contains(&key) {
        index.push(key);
        store.put_json(INDEX_KEY, &index)?;
    }
    Ok(())
}

/// Removes every cached session of this server.
pub fn forget_all(store: &Store) -> anyhow::Result<()> {
    let index: Vec<String> = store
        .get_json(INDEX_KEY)
        .unwrap_or_default()
        .unwrap_or_default();
    for key in &index {
        store.delete(key)?;
    }
    store.delete(INDEX_KEY)
}

/// A session for `profile` (`exec`, `export`, `credential-process`): with a CI job's token when
/// there is one (see [`ci::detect`]), else with the stored login.
pub fn obtain(
    globals: &Globals,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedSession> {
    let env = ci::process_env;
    if let Some(source) = ci::detect(&globals.ci, &env)? {
        let server = globals.server_url()?;
        return crate::runtime::single_threaded()?.block_on(fetch_for_ci(
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

/// A session with the stored login: from the cache when fresh, else from the server (then cached).
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
) -> anyhow::Result<CachedSession> {
    if let Some(session) = load_fresh(store, profile, duration, crate::clock::now_unix())? {
        return Ok(session);
    }
    if ci::in_ci(env) && store.get(TOKENS_KEY)?.is_none() {
        return Err(ci::no_token_error(env));
    }
    let session = crate::runtime::single_threaded()?
        .block_on(fetch_with_login(server, store, profile, duration))?;
    if let Err(e) = save(store, duration, &session) {
        eprintln!(
            "warning: could not cache the session: {}",
            crate::error::one_line(&e)
        );
    }
    Ok(session)
}

async fn fetch_with_login(
    server: &ServerUrl,
    store: &Store,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedSession> {
    let http = Http::new(server)?;
    fetch(&http, &Authenticator::new(&http, store), profile, duration).await
}

/// A CI job's session: the job's OIDC token is exchanged for a broker access token, which asks
/// for the credentials.
///
/// In CI mode neither the access token nor the AWS session is ever written to disk or the
/// keyring, and the warm cache is not consulted: the store is not even opened. A job's identity
/// lasts one run, CI machines are shared or reused, and a burst of jobs asking for the same
/// profile is the server's to absorb (`reuse_ci_sessions` reuses a fresh session server-side).
async fn fetch_for_ci(
    server: &ServerUrl,
    flags: &CiFlags,
    source: &CiSource,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedSession> {
    let http = Http::new(server)?;
    let access = ci::access_token(&http, source, flags).await?;
    fetch(&http, &Authenticator::ci(&http, access), profile, duration).await
}

/// Asks the server for credentials and, alongside, for the profile's region. For a CI job the
/// region is best effort: a failed profile list leaves the inherited region alone.
async fn fetch(
    http: &Http,
    auth: &Authenticator<'_>,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedSession> {
    let lenient_region = auth.is_ci();
    let request = CredentialsRequest {
        profile: profile.to_owned(),
        duration_seconds: duration,
    };
    let (credentials, profiles) = auth
        .call(|token| {
            let request = &request;
            async move {
                let credentials =
                    http.post_json::<_, Credentials>("v1/credentials", &token, request);
                let profiles = http.get::<ProfileList>("v1/profiles", Some(&token));
                let (credentials, profiles) = tokio::join!(credentials, profiles);
                let credentials = credentials?;
                let profiles = match profiles {
                    Err(_) if lenient_region => None,
                    other => Some(other?),
                };
                Ok((credentials, profiles))
            }
        })
        .await?;
    if credentials.version != 1 {
        return Err(UserError::new(format!(
            "the server sent credentials of unknown version {}",
            credentials.version
        ))
        .into());
    }
    let region = profiles
        .into_iter()
        .flat_map(|list| list.profiles)
        .find(|p| p.name == profile)
        .map(|p| p.region);
    CachedSession::new(profile, credentials, region)
}

/// A session with fixed test credentials, in region eu-west-1.
#[cfg(test)]
pub(crate) fn test_session(profile: &str, expiration: &str) -> CachedSession {
    let credentials = Credentials {
        version: 1,
        access_key_id: "ASIATEST".into(),
        secret_access_key: "secret".into(),
        session_token: "token".into(),
        expiration: expiration.into(),
    };
    CachedSession::new(profile, credentials, Some("eu-west-1".into())).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(profile: &str, expiration: &str) -> CachedSession {
        test_session(profile, expiration)
    }

    fn file_store(dir: &std::path::Path) -> Store {
        Store::in_files(dir.into())
    }

    #[test]
    fn a_session_is_reused_until_five_minutes_before_it_expires() {
        let s = session("dev", "2030-01-01T01:00:00Z");
        let expiry = s.expires_at;
        assert!(s.is_fresh(expiry - 3600));
        assert!(s.is_fresh(expiry - 301));
        assert!(!s.is_fresh(expiry - 300));
        assert!(!s.is_fresh(expiry + 10));
    }

    #[test]
    fn a_cached_session_is_found_only_for_its_profile_and_duration() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        let s = session("dev", "2030-01-01T01:00:00Z");
        save(&store, Some(3600), &s).unwrap();
        let now = s.expires_at - 3000;
        assert!(load_fresh(&store, "dev", Some(3600), now)
            .unwrap()
            .is_some());
        assert!(load_fresh(&store, "dev", None, now).unwrap().is_none());
        assert!(load_fresh(&store, "prod", Some(3600), now)
            .unwrap()
            .is_none());
        assert!(load_fresh(&store, "dev", Some(3600), s.expires_at - 60)
            .unwrap()
            .is_none());
    }

    #[test]
    fn forgetting_removes_every_cached_session() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        let s = session("dev", "2030-01-01T01:00:00Z");
        save(&store, None, &s).unwrap();
        save(&store, Some(900), &s).unwrap();
        forget_all(&store).unwrap();
        let now = s.expires_at - 3000;
        assert!(load_fresh(&store, "dev", None, now).unwrap().is_none());
        assert!(load_fresh(&store, "dev", Some(900), now).unwrap().is_none());
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "no file is left"
        );
    }

    #[test]
    fn an_unreadable_cache_entry_is_treated_as_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        std::fs::write(tmp.path().join("session-dev-default.json"), "{not json").unwrap();
        assert!(load_fresh(&store, "dev", None, 0).unwrap().is_none());
    }
}
