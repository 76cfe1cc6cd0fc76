//! Burst protection: a matrix of CI jobs with one identity shares one STS session instead of
//! each calling `AssumeRole` (which STS would throttle). Kept in memory only, never on disk;
//! concurrent requests for the same key wait for the first instead of all calling STS.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::sts::{IssuedCredentials, StsError};

/// Who gets which session: the same job identity, profile, duration and session name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReuseKey {
    pub principal_id: Uuid,
    pub profile: String,
    pub duration: Duration,
    pub session_name: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<IssuedCredentials>>>;

/// Sessions that may be handed out again.
#[derive(Default)]
pub struct CredentialReuse {
    slots: Mutex<HashMap<ReuseKey, Slot>>,
}

/// Still fresh: at least half of its life left (and never less than ten minutes).
fn fresh(session: &IssuedCredentials, duration: Duration, now: OffsetDateTime) -> bool {
    let left = session.expiration - now;
    let needed = (duration / 2).max(Duration::from_secs(600));
    left >= needed
}

impl CredentialReuse {
    /// Drops every session kept for `principal` (`None`: for anyone), so its next request calls
    /// STS (and is authorized) afresh.
    pub fn forget(&self, principal: Option<Uuid>) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match principal {
            Some(id) => slots.retain(|key, _| key.principal_id != id),
            None => slots.clear(),
        }
    }

    /// A fresh cached session for `key`, or a new one from `issue`; `true` when reused.
    pub async fn get_or_issue<F, Fut>(
        &self,
        key: ReuseKey,
        now: OffsetDateTime,
        issue: F,
    ) -> Result<(IssuedCredentials, bool), StsError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<IssuedCredentials, StsError>>,
    {
        let duration = key.duration;
        let slot = {
            let mut slots = self.slots.lock().expect("lock");
            if slots.len() > 10_000 {
                slots.retain(|_, s| {
                    s.try_lock()
                        .map(|s| s.as_ref().is_some_and(|c| c.expiration > now))
                        .unwrap_or(true)
                });
            }
            slots.entry(key).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some(session) = cached.as_ref().filter(|s| fresh(s, duration, now)) {
            return Ok((session.clone(), true));
        }
        let session = issue().await?;
        *cached = Some(session.clone());
        Ok((session, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn session(expiration: OffsetDateTime) -> IssuedCredentials {
        IssuedCredentials {
            access_key_id: "ASIA".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration,
        }
    }

    fn key() -> ReuseKey {
        ReuseKey {
            principal_id: Uuid::nil(),
            profile: "deploy".into(),
            duration: Duration::from_secs(3600),
            session_name: "gha-acme-app-1".into(),
        }
    }

    #[tokio::test]
    async fn a_burst_for_one_identity_calls_sts_once() {
        let reuse = Arc::new(CredentialReuse::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let now = OffsetDateTime::UNIX_EPOCH;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (reuse, calls) = (reuse.clone(), calls.clone());
                tokio::spawn(async move {
                    reuse
                        .get_or_issue(key(), now, || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok(session(now + Duration::from_secs(3600)))
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut reused = 0;
        for t in tasks {
            reused += usize::from(t.await.unwrap().1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(reused, 49);
    }

    #[tokio::test]
    async fn a_forgotten_principal_gets_a_new_session_and_others_keep_theirs() {
        let reuse = CredentialReuse::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let other = ReuseKey {
            principal_id: Uuid::from_u128(7),
            ..key()
        };
        for k in [key(), other.clone()] {
            reuse
                .get_or_issue(k, now, || async {
                    Ok(session(now + Duration::from_secs(3600)))
                })
                .await
                .unwrap();
        }
        reuse.forget(Some(Uuid::nil()));
        let issue = || async { Ok(session(now + Duration::from_secs(3600))) };
        assert!(!reuse.get_or_issue(key(), now, issue).await.unwrap().1);
        assert!(reuse.get_or_issue(other, now, issue).await.unwrap().1);
    }

    #[tokio::test]
    async fn a_session_past_half_its_life_is_not_reused() {
        let reuse = CredentialReuse::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let first = reuse
            .get_or_issue(key(), now, || async {
                Ok(session(now + Duration::from_secs(3600)))
            })
            .await
            .unwrap();
        assert!(!first.1);
        let later = now + Duration::from_secs(2000);
        let second = reuse
            .get_or_issue(key(), later, || async {
                Ok(session(later + Duration::from_secs(3600)))
            })
            .await
            .unwrap();
        assert!(
            !second.1,
            "a session with 1600 s of 3600 s left must be replaced"
        );
    }
}
