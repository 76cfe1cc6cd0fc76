//! A governor state store with a cap on the sources it tracks: once full, a source it has not
//! seen shares one overflow bucket until `retain_recent` makes room, so a flood from ever-new
//! addresses costs bounded memory and cannot push out the sources already tracked.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, MutexGuard},
};

use governor::{
    nanos::Nanos,
    state::{keyed::ShrinkableKeyedStateStore, StateStore},
};

/// Theoretical arrival times per source (GCRA state), at most `cap` of them, plus the overflow.
pub struct BoundedStore<K> {
    inner: Mutex<Inner<K>>,
    cap: usize,
}

struct Inner<K> {
    sources: HashMap<K, Nanos>,
    overflow: Option<Nanos>,
}

impl<K> BoundedStore<K> {
    pub fn new(cap: usize) -> Self {
        BoundedStore {
            inner: Mutex::new(Inner {
                sources: HashMap::new(),
                overflow: None,
            }),
            cap,
        }
    }

    /// A panic elsewhere while holding the lock leaves plain numbers behind: keep using them.
    fn lock(&self) -> MutexGuard<'_, Inner<K>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut inner = self.lock();
        let known = inner.sources.get(key).copied();
        if known.is_none() && inner.sources.len() >= self.cap {
            let (result, next) = f(inner.overflow)?;
            inner.overflow = Some(next);
            return Ok(result);
        }
        let (result, next) = f(known)?;
        inner.sources.insert(key.clone(), next);
        Ok(result)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for BoundedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        let mut inner = self.lock();
        inner.sources.retain(|_, at| *at > drop_below);
        if inner.overflow.is_some_and(|at| at <= drop_below) {
            inner.overflow = None;
        }
    }

    fn shrink_to_fit(&self) {
        self.lock().sources.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.lock().sources.len()
    }

    fn is_empty(&self) -> bool {
        self.lock().sources.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::{num::NonZeroU32, time::Duration};

    use governor::{
        clock::{Clock, FakeRelativeClock},
        middleware::NoOpMiddleware,
        Quota, RateLimiter,
    };

    use super::*;

    type Limiter = RateLimiter<
        u32,
        BoundedStore<u32>,
        FakeRelativeClock,
        NoOpMiddleware<<FakeRelativeClock as Clock>::Instant>,
    >;

    fn limiter(cap: usize) -> (Limiter, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let quota = Quota::per_minute(NonZeroU32::new(60).unwrap())
            .allow_burst(NonZeroU32::new(2).unwrap());
        (
            RateLimiter::new(quota, BoundedStore::new(cap), clock.clone()),
            clock,
        )
    }

    #[test]
    fn each_tracked_source_has_its_own_bucket() {
        let (l, _) = limiter(10);
        assert!(l.check_key(&1).is_ok() && l.check_key(&1).is_ok());
        assert!(l.check_key(&1).is_err());
        assert!(l.check_key(&2).is_ok());
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn past_the_cap_new_sources_share_one_bucket_and_tracked_ones_keep_theirs() {
        let (l, clock) = limiter(2);
        assert!(l.check_key(&1).is_ok());
        assert!(l.check_key(&2).is_ok());
        // 3, 4 and 5 are new and the store is full: they share the overflow bucket (burst 2).
        assert!(l.check_key(&3).is_ok());
        assert!(l.check_key(&4).is_ok());
        assert!(l.check_key(&5).is_err());
        assert_eq!(l.len(), 2);
        // Source 1 still has its own bucket.
        assert!(l.check_key(&1).is_ok());
        // Once the buckets are full again, retain_recent forgets idle sources and makes room.
        clock.advance(Duration::from_secs(10));
        l.retain_recent();
        assert_eq!(l.len(), 0);
        assert!(l.check_key(&5).is_ok());
        assert_eq!(l.len(), 1);
    }
}
