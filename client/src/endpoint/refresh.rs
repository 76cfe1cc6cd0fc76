//! Keeping an endpoint's session fresh: a new one is fetched a margin before expiry (a quarter of
//! the session's lifetime, at most 15 minutes, less up to a tenth of it at random so that many
//! endpoints do not ask at once), one fetch at a time, retried with backoff (1 s doubling to
//! 60 s, never sleeping past expiry). While fetches fail the current session is served until it
//! expires, and the person is told once per run of failures.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::current::{rfc3339_utc, Current, Session};
use crate::credentials::CachedCredentials;

/// The largest margin before expiry (milliseconds).
pub const MAX_MARGIN_MS: i64 = 15 * 60 * 1000;
/// The longest wait between two failed fetches.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// One fetch is abandoned (and counts as failed) after this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest single sleep: the wall clock is read again after it, so a machine that slept
/// (suspended laptops stop the monotonic clock) refreshes soon after it wakes.
const MAX_NAP: Duration = Duration::from_secs(30);

/// The margin before expiry at which a session lasting `lifetime_ms` is refreshed.
pub fn margin_ms(lifetime_ms: i64) -> i64 {
    (lifetime_ms / 4).clamp(0, MAX_MARGIN_MS)
}

/// When (Unix ms) to refresh a session obtained at `obtained_ms` that expires at `expires_ms`;
/// `jitter` is in `[0, 1)`.
pub fn refresh_at(obtained_ms: i64, expires_ms: i64, jitter: f64) -> i64 {
    let margin = margin_ms(expires_ms - obtained_ms);
    let spread = (margin as f64 * jitter.clamp(0.0, 1.0) / 10.0) as i64;
    expires_ms - margin - spread
}

/// How long to wait after `failures` failed fetches in a row (at least one), at `now_ms`, with
/// the session expiring at `expires_ms`: 1 s doubling to 60 s, but never past expiry (once it
/// has passed, the backoff alone).
pub fn retry_after(failures: u32, now_ms: i64, expires_ms: i64) -> Duration {
    let backoff = Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF);
    let left = Duration::from_millis(u64::try_from(expires_ms - now_ms).unwrap_or(0));
    if left.is_zero() {
        backoff
    } else {
        backoff.min(left)
    }
}

/// The one line told per run of failures (see [`Hint`]).
pub fn hint_line(profile: &str, reason: &str, expires_ms: i64) -> String {
    format!(
        "vault: could not refresh the {profile} session ({reason}); serving the current one until {}. \
         Run `vault login` in another terminal if it does not recover.",
        rfc3339_utc(expires_ms.div_euclid(1000))
    )
}

/// Whether the person has been told of the failures going on.
#[derive(Debug, Default)]
pub struct Hint {
    told: bool,
}

impl Hint {
    /// A fetch failed: the line to print, the first time in a run of failures only.
    pub fn failed(&mut self, profile: &str, reason: &str, expires_ms: i64) -> Option<String> {
        if std::mem::replace(&mut self.told, true) {
            return None;
        }
        Some(hint_line(profile, reason, expires_ms))
    }

    /// A fetch succeeded: the next failure is news again.
    pub fn recovered(&mut self) {
        self.told = false;
    }
}

/// A fetched session, or why not.
pub type Fetched<'a> = Pin<Box<dyn Future<Output = anyhow::Result<CachedCredentials>> + Send + 'a>>;

/// Where new sessions come from (the server, bypassing the cache; a fake in tests).
pub trait Fetch: Send + Sync + 'static {
    fn fetch(&self) -> Fetched<'_>;
}

/// The wall clock in Unix milliseconds (a function of tokio's paused time in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A refresher for one endpoint's session.
pub struct Refresher<F> {
    pub fetch: F,
    pub current: Arc<Current>,
    pub profile: String,
    pub clock: Clock,
    /// Prints a hint line (stderr; collected in tests).
    pub tell: Box<dyn Fn(&str) + Send + Sync>,
}

impl<F: Fetch> Refresher<F> {
    /// Refreshes forever (stop it by dropping the task), starting from a session obtained at
    /// `obtained_ms`.
    pub async fn run(self, mut obtained_ms: i64) {
        let mut hint = Hint::default();
        loop {
            let expires_ms = self.current.get().expires_at.saturating_mul(1000);
            let at = refresh_at(obtained_ms, expires_ms, rand::random::<f64>());
            self.sleep_until(at).await;
            let mut failures = 0u32;
            loop {
                let outcome = match tokio::time::timeout(FETCH_TIMEOUT, self.fetch.fetch()).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(anyhow::anyhow!("the server did not answer within a minute")),
                };
                let now = (self.clock)();
                match outcome {
                    Ok(fresh) => {
                        self.current
                            .replace(Session::render(&fresh, now.div_euclid(1000)));
                        hint.recovered();
                        obtained_ms = now;
                        break;
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let reason = crate::error::one_line(&e);
                        if let Some(line) = hint.failed(&self.profile, &reason, expires_ms) {
                            (self.tell)(&line);
                        }
                        self.nap(retry_after(failures, now, expires_ms)).await;
                    }
                }
            }
        }
    }

    /// Sleeps until the wall clock reads `at_ms`, in naps of at most [`MAX_NAP`].
    async fn sleep_until(&self, at_ms: i64) {
        loop {
            let left = at_ms - (self.clock)();
            let Ok(left) = u64::try_from(left) else {
                return;
            };
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(left).min(MAX_NAP)).await;
        }
    }

    async fn nap(&self, wait: Duration) {
        let until =
            (self.clock)().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        self.sleep_until(until).await;
    }
}

#[cfg(test)]
mod tests;
