//! This replica's short memory of live login sessions, so that a request bearing an access
//! token usually costs no database round trip.
//!
//! Correctness rests on invalidation, not on the time limit: a trigger NOTIFYs
//! `vault_session_revoked` with the session id whenever a session row changes or goes (revoked
//! by any replica, or by hand), every replica LISTENs and forgets that session, the replica that
//! revokes also forgets it at once, and a replica whose LISTEN connection is down caches
//! nothing. The time limit (`session_cache_ttl`, default 1 s, `0s` turns the cache off) only
//! bounds what a notification lost with a dying connection could cost.
//!
//! The same connection hears `vault_principal_revoked` (`vault admin revoke`), passed to the
//! hooks that keep something per principal (the reusable CI sessions of `ci::reuse`).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use sqlx::{postgres::PgListener, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{self, sessions::ActiveSession};

/// The channel the `login_sessions` trigger notifies (payload: the session id, or `*`).
pub const CHANNEL: &str = "vault_session_revoked";
/// The channel `vault admin revoke` notifies (payload: the principal id): what replicas keep
/// per principal besides sessions (reusable CI sessions) goes.
pub const PRINCIPAL_CHANNEL: &str = "vault_principal_revoked";

/// Told when a principal was revoked anywhere (`Some(id)`), or when notices may have been lost
/// and everything kept per principal must go (`None`).
pub type PrincipalHook = Arc<dyn Fn(Option<Uuid>) + Send + Sync>;
/// Entries kept at most; past this, expired ones go, then all.
const MAX_ENTRIES: usize = 100_000;
/// Wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(1);
/// How long connecting and `LISTEN` may take: a stopped Postgres accepts TCP and never answers.
const LISTEN_LIMIT: Duration = Duration::from_secs(5);

/// Live sessions looked up recently, forgotten on any change.
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, (ActiveSession, Instant)>>,
    /// Bumped by every invalidation (under the entries lock): a lookup that raced one does not
    /// store what it read.
    generation: AtomicU64,
    /// Whether revocations are being heard; nothing is cached or served from the cache otherwise.
    listening: AtomicBool,
    /// Told of principal revocations (see [`PRINCIPAL_CHANNEL`]).
    principal_hooks: Mutex<Vec<PrincipalHook>>,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            principal_hooks: Mutex::new(Vec::new()),
        })
    }

    /// Registers `hook` to hear of principal revocations on any replica (and of lost notices).
    pub fn on_principal_revoked(&self, hook: PrincipalHook) {
        self.principal_hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(hook);
    }

    /// Tells the hooks that `principal` (or, `None`, anyone) was revoked.
    pub fn principal_revoked(&self, principal: Option<Uuid>) {
        let hooks = self
            .principal_hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for hook in hooks {
            hook(principal);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, (ActiveSession, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.listening.load(Ordering::Acquire)
    }

    /// The live session `id`, from memory when recently seen, else from the database.
    pub async fn find_active(
        &self,
        pool: &PgPool,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<ActiveSession>, sqlx::Error> {
        if self.enabled() {
            if let Some((session, at)) = self.lock().get(&id) {
                if at.elapsed() < self.ttl && session.expires_at > now {
                    return Ok(Some(session.clone()));
                }
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = db::sessions::find_active(pool, id, now).await?;
        if let Some(session) = &found {
            if self.enabled() {
                let mut entries = self.lock();
                if self.generation.load(Ordering::Acquire) == generation {
                    if entries.len() >= MAX_ENTRIES {
                        let ttl = self.ttl;
                        entries.retain(|_, (_, at)| at.elapsed() < ttl);
                        if entries.len() >= MAX_ENTRIES {
                            entries.clear();
                        }
                    }
                    entries.insert(id, (session.clone(), Instant::now()));
                }
            }
        }
        Ok(found)
    }

    /// Forgets one session: it was revoked here, or a notification said it changed.
    pub fn forget(&self, id: Uuid) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&id);
    }

    fn forget_all(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Applies one notification payload.
    fn heard(&self, payload: &str) {
        match payload.parse::<Uuid>() {
            Ok(id) => self.forget(id),
            Err(_) => self.forget_all(),
        }
    }

    /// Applies one notification on `channel`.
    fn heard_on(&self, channel: &str, payload: &str) {
        if channel == PRINCIPAL_CHANNEL {
            // An unreadable payload: forget everything rather than too little.
            self.principal_revoked(payload.parse().ok());
        } else {
            self.heard(payload);
        }
    }

    /// Starts listening for revocations (before the server takes requests, so the cache works
    /// from the first one; also with the cache off, for the principal hooks); `None` when LISTEN
    /// failed (`follow` retries).
    pub async fn listen(&self, pool: &PgPool) -> Option<PgListener> {
        match listen(pool).await {
            Ok(listener) => {
                self.forget_all();
                self.listening.store(true, Ordering::Release);
                Some(listener)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for session revocations; not caching sessions");
                None
            }
        }
    }

    /// Follows revocations for as long as the server runs, starting with `listener` (from
    /// `listen`); caches only while it hears them.
    pub async fn follow(self: Arc<Self>, pool: PgPool, mut listener: Option<PgListener>) {
        loop {
            if listener.is_none() {
                tokio::time::sleep(RETRY).await;
                listener = self.listen(&pool).await;
            }
            if let Some(mut l) = listener.take() {
                // `Ok(None)` or an error: the connection went, notifications may be lost.
                while let Ok(Some(n)) = l.try_recv().await {
                    self.heard_on(n.channel(), n.payload());
                }
                self.listening.store(false, Ordering::Release);
                self.forget_all();
                self.principal_revoked(None);
                tracing::warn!(
                    "lost the session revocation listener; not caching sessions until it is back"
                );
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let attempt = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all([CHANNEL, PRINCIPAL_CHANNEL]).await?;
        Ok(listener)
    };
    tokio::time::timeout(LISTEN_LIMIT, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("LISTEN did not complete within {LISTEN_LIMIT:?}"),
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: Uuid) -> ActiveSession {
        ActiveSession {
            session_id: id,
            principal: crate::principal::Principal {
                id: Uuid::new_v4(),
                kind: crate::principal::PrincipalKind::User,
                display: "alice@example.com".into(),
                display_shared: false,
            },
            groups: vec![],
            expires_at: crate::clock::now() + time::Duration::hours(1),
            ci_issuer: None,
            ci_claims: None,
            disabled: false,
        }
    }

    #[test]
    fn a_notification_forgets_its_session_and_anything_else_forgets_all() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for id in [a, b] {
            cache.lock().insert(id, (session(id), Instant::now()));
        }
        let before = cache.generation.load(Ordering::Acquire);
        cache.heard(&a.to_string());
        assert!(!cache.lock().contains_key(&a));
        assert!(cache.lock().contains_key(&b));
        assert!(cache.generation.load(Ordering::Acquire) > before);
        cache.heard("*");
        assert!(cache.lock().is_empty());
    }

    #[test]
    fn nothing_is_served_from_memory_while_not_listening_or_with_a_zero_ttl() {
        let cache = SessionCache::new(Duration::from_secs(60));
        assert!(!cache.enabled(), "not listening yet");
        cache.listening.store(true, Ordering::Release);
        assert!(cache.enabled());
        let off = SessionCache::new(Duration::ZERO);
        off.listening.store(true, Ordering::Release);
        assert!(!off.enabled());
    }
}
