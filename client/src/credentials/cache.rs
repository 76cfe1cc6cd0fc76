//! The cache of AWS credentials per (server, profile, duration), reused until five minutes before
//! they expire. No HTTP here: asking the server is `fetch`'s.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vault_api::Credentials;

use crate::store::Store;

/// Cached credentials are not handed out when they have less than this left (seconds).
pub const REUSE_MARGIN_SECS: i64 = 5 * 60;
/// The store key listing every cached entry, so that logout can remove them all (`sessions`: the
/// stored format, which stays).
const INDEX_KEY: &str = "sessions";

/// Credentials for one profile plus what `exec` needs besides them, as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedCredentials {
    pub profile: String,
    pub credentials: Credentials,
    /// The profile's AWS region, from `GET /v1/profiles`.
    pub region: Option<String>,
    /// `credentials.expiration` as Unix seconds.
    pub expires_at: i64,
    /// The AWS account of the profile's role (from its ARN), when known; entries cached before
    /// it was kept have none.
    #[serde(default)]
    pub account_id: Option<String>,
    /// When the server issued them (Unix seconds), so that a session taken from the cache is
    /// refreshed by its whole lifetime; entries cached before it was kept have none.
    #[serde(default)]
    pub issued_at: Option<i64>,
}

impl CachedCredentials {
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
            account_id: None,
            issued_at: Some(crate::clock::now_unix()),
        })
    }

    /// Whether the credentials may still be handed out at `now` (Unix seconds).
    pub fn is_fresh(&self, now: i64) -> bool {
        self.expires_at - now > REUSE_MARGIN_SECS
    }
}

/// The store key of a (profile, duration) pair; no duration means the profile's default. (The
/// `session-` prefix is the on-disk and keyring format; it stays.)
pub fn key(profile: &str, duration: Option<u32>) -> String {
    match duration {
        Some(secs) => format!("session-{profile}-{secs}s"),
        None => format!("session-{profile}-default"),
    }
}

/// The cached credentials when still fresh at `now`; an unreadable entry counts as absent.
pub fn load_fresh(
    store: &Store,
    profile: &str,
    duration: Option<u32>,
    now: i64,
) -> anyhow::Result<Option<CachedCredentials>> {
    let Some(text) = store.get(&key(profile, duration))? else {
        return Ok(None);
    };
    let found = serde_json::from_str::<CachedCredentials>(&text).ok();
    Ok(found.filter(|c| c.profile == profile && c.is_fresh(now)))
}

/// Caches credentials and records their key in the index.
pub fn save(
    store: &Store,
    duration: Option<u32>,
    credentials: &CachedCredentials,
) -> anyhow::Result<()> {
    let key = key(&credentials.profile, duration);
    store.put_json(&key, credentials)?;
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

/// One cached session as `vault list` and `vault status` show it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The duration it was asked for; `None` for the profile's default.
    pub duration: Option<u32>,
    pub credentials: CachedCredentials,
}

/// Every readable cached session of this server, in the order they were first cached (expired
/// ones included; the caller decides what to show).
pub fn entries(store: &Store) -> anyhow::Result<Vec<Entry>> {
    let index: Vec<String> = store
        .get_json(INDEX_KEY)
        .unwrap_or_default()
        .unwrap_or_default();
    let mut found = Vec::new();
    for key in &index {
        let Some(text) = store.get(key)? else {
            continue;
        };
        let Ok(credentials) = serde_json::from_str::<CachedCredentials>(&text) else {
            continue;
        };
        if let Some(duration) = duration_of(key, &credentials.profile) {
            found.push(Entry {
                duration,
                credentials,
            });
        }
    }
    Ok(found)
}

/// The duration in a key made by [`key`] for `profile`; `None` when it is not such a key.
fn duration_of(key: &str, profile: &str) -> Option<Option<u32>> {
    let rest = key.strip_prefix("session-")?.strip_prefix(profile)?;
    match rest.strip_prefix('-')? {
        "default" => Some(None),
        secs => secs.strip_suffix('s')?.parse().ok().map(Some),
    }
}

/// Removes all cached credentials of this server.
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

/// Fixed test credentials, in region eu-west-1.
#[cfg(test)]
pub(crate) fn test_credentials(profile: &str, expiration: &str) -> CachedCredentials {
    let credentials = Credentials {
        version: 1,
        access_key_id: "ASIATEST".into(),
        secret_access_key: "secret".into(),
        session_token: "token".into(),
        expiration: expiration.into(),
    };
    CachedCredentials::new(profile, credentials, Some("eu-west-1".into())).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_store(dir: &std::path::Path) -> Store {
        Store::in_files(dir.into())
    }

    #[test]
    fn credentials_are_reused_until_five_minutes_before_they_expire() {
        let c = test_credentials("dev", "2030-01-01T01:00:00Z");
        let expiry = c.expires_at;
        assert!(c.is_fresh(expiry - 3600));
        assert!(c.is_fresh(expiry - 301));
        assert!(!c.is_fresh(expiry - 300));
        assert!(!c.is_fresh(expiry + 10));
    }

    #[test]
    fn cached_credentials_are_found_only_for_their_profile_and_duration() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        let c = test_credentials("dev", "2030-01-01T01:00:00Z");
        save(&store, Some(3600), &c).unwrap();
        let now = c.expires_at - 3000;
        assert!(load_fresh(&store, "dev", Some(3600), now)
            .unwrap()
            .is_some());
        assert!(load_fresh(&store, "dev", None, now).unwrap().is_none());
        assert!(load_fresh(&store, "prod", Some(3600), now)
            .unwrap()
            .is_none());
        assert!(load_fresh(&store, "dev", Some(3600), c.expires_at - 60)
            .unwrap()
            .is_none());
    }

    #[test]
    fn forgetting_removes_all_cached_credentials() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        let c = test_credentials("dev", "2030-01-01T01:00:00Z");
        save(&store, None, &c).unwrap();
        save(&store, Some(900), &c).unwrap();
        forget_all(&store).unwrap();
        let now = c.expires_at - 3000;
        assert!(load_fresh(&store, "dev", None, now).unwrap().is_none());
        assert!(load_fresh(&store, "dev", Some(900), now).unwrap().is_none());
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "no file is left"
        );
    }

    #[test]
    fn every_cached_session_is_listed_with_the_duration_it_was_asked_for() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        let dev = test_credentials("dev", "2030-01-01T01:00:00Z");
        let ops = test_credentials("dev-ops", "2030-01-01T02:00:00Z");
        save(&store, None, &dev).unwrap();
        save(&store, Some(900), &dev).unwrap();
        save(&store, Some(7200), &ops).unwrap();
        let listed: Vec<(String, Option<u32>)> = entries(&store)
            .unwrap()
            .into_iter()
            .map(|e| (e.credentials.profile, e.duration))
            .collect();
        assert_eq!(
            listed,
            [
                ("dev".to_owned(), None),
                ("dev".to_owned(), Some(900)),
                ("dev-ops".to_owned(), Some(7200))
            ]
        );
        assert_eq!(duration_of("session-dev-ops-7200s", "dev"), None);
    }

    #[test]
    fn an_unreadable_cache_entry_is_treated_as_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path());
        std::fs::write(tmp.path().join("session-dev-default.json"), "{not json").unwrap();
        assert!(load_fresh(&store, "dev", None, 0).unwrap().is_none());
    }
}
